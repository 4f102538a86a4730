package io.flexiserve.metrics;

import static io.restassured.RestAssured.given;

import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One scrape of /q/metrics, parsed from the Prometheus text format. */
final class Scrape {

    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([^}]*)\\})?\\s+(\\S+)");

    final String text;
    private final Map<String, Double> samples = new HashMap<>();

    Scrape() {
        this.text = given().get("/q/metrics").asString();
        for (String line : text.split("\n")) {
            Matcher m = SAMPLE.matcher(line);
            if (!line.startsWith("#") && m.find()) {
                samples.put(m.group(1) + "{" + (m.group(3) == null ? "" : m.group(3)) + "}", Double.parseDouble(m.group(4)));
            }
        }
    }

    /** The sample of {@code name} whose labels include all of {@code labels} (each "key=\"value\""); 0 when absent. */
    double value(String name, String... labels) {
        double total = 0;
        for (Map.Entry<String, Double> e : samples.entrySet()) {
            if (!e.getKey().startsWith(name + "{")) {
                continue;
            }
            boolean all = true;
            for (String label : labels) {
                all &= e.getKey().contains(label);
            }
            if (all) {
                total += e.getValue();
            }
        }
        return total;
    }
}
