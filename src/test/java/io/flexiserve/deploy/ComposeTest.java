package io.flexiserve.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * docker/compose.yaml is valid YAML whose Prometheus scrapes the service's /q/metrics and whose Grafana is
 * provisioned with the one dashboard file and that Prometheus as its datasource.
 */
class ComposeTest {

    private static final Path DOCKER = Path.of("docker");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static JsonNode read(Path file) throws IOException {
        return YAML.readTree(file.toFile());
    }

    /** The host side of the compose volume that is mounted at {@code target} in {@code service}. */
    private static Path hostPath(JsonNode service, String target) {
        for (JsonNode v : service.path("volumes")) {
            String[] parts = v.asText().split(":");
            if (parts[1].equals(target)) {
                return DOCKER.resolve(parts[0]).normalize();
            }
        }
        throw new AssertionError("nothing mounted at " + target);
    }

    @Test
    void prometheusScrapesTheServiceAndGrafanaShowsTheDashboard() throws IOException {
        JsonNode services = read(DOCKER.resolve("compose.yaml")).path("services");
        List<String> names = new ArrayList<>();
        services.fieldNames().forEachRemaining(names::add);
        assertEquals(List.of("flexiserve", "prometheus", "grafana"), names);
        JsonNode flexiserve = services.get("flexiserve");
        assertEquals("docker/Dockerfile.jvm", flexiserve.path("build").path("dockerfile").asText());
        assertTrue(Files.exists(DOCKER.resolve(flexiserve.path("build").path("context").asText()).resolve("pom.xml")));
        String containerPort = flexiserve.path("ports").get(0).asText().split(":")[1];

        JsonNode prometheus = services.get("prometheus");
        JsonNode scrape = read(hostPath(prometheus, "/etc/prometheus/prometheus.yml")).path("scrape_configs").get(0);
        assertEquals("/q/metrics", scrape.path("metrics_path").asText());
        assertEquals("flexiserve:" + containerPort, scrape.path("static_configs").get(0).path("targets").get(0).asText());

        JsonNode grafana = services.get("grafana");
        Path provisioning = hostPath(grafana, "/etc/grafana/provisioning");
        JsonNode datasource = read(provisioning.resolve("datasources/prometheus.yaml")).path("datasources").get(0);
        assertEquals("http://prometheus:9090", datasource.path("url").asText());
        assertTrue(prometheus.path("ports").get(0).asText().endsWith(":9090"));
        String dashboardDir = read(provisioning.resolve("dashboards/flexiserve.yaml")).path("providers").get(0)
                .path("options").path("path").asText();
        Path dashboard = hostPath(grafana, dashboardDir + "/flexiserve.json");
        assertEquals(Path.of("dashboards/flexiserve.json"), dashboard);
        assertTrue(new ObjectMapper().readTree(dashboard.toFile()).path("panels").size() > 10);
    }
}
