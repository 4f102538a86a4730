package io.flexiserve.finetune;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The JSON log lines a trainer pod prints (one object per line, {@code "flexiserve": "trainer"} marks them) and
 * their reading back, so the Kubernetes runner can replay a pod's progress as the local runner reports it.
 */
public final class TrainerLog implements TrainingListener {

    static final String MARK = "flexiserve";
    private static final ObjectMapper JSON = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    private final PrintStream out;

    public TrainerLog(PrintStream out) {
        this.out = out;
    }

    @Override
    public void message(String text) {
        print(line("message").put("text", text));
    }

    @Override
    public void step(StepMetrics metrics) {
        print(line("step").set("metrics", JSON.valueToTree(metrics)));
    }

    @Override
    public void checkpoint(Path dir, StepMetrics metrics) {
        ObjectNode node = line("checkpoint").put("dir", dir.toString());
        node.set("metrics", JSON.valueToTree(metrics));
        print(node);
    }

    /** The final line: {@code succeeded} (with the output dir), {@code cancelled} or {@code failed} (with the error). */
    public void outcome(String kind, String detail) {
        print(line(kind).put("detail", detail));
    }

    private static ObjectNode line(String event) {
        return JSON.createObjectNode().put(MARK, "trainer").put("event", event);
    }

    private void print(ObjectNode node) {
        out.println(node.toString());
        out.flush();
    }

    /** Replays one log line to {@code listener}; returns the outcome kind of a final line, if it is one. */
    public static Optional<String> replay(String line, TrainingListener listener) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (java.io.IOException e) {
            return Optional.empty(); // not one of ours: libtorch and JVM output share the log
        }
        if (node == null || !"trainer".equals(node.path(MARK).asText())) {
            return Optional.empty();
        }
        try {
            switch (node.path("event").asText()) {
                case "message" -> listener.message(node.path("text").asText());
                case "step" -> listener.step(JSON.treeToValue(node.get("metrics"), StepMetrics.class));
                case "checkpoint" -> listener.checkpoint(Path.of(node.path("dir").asText()),
                        JSON.treeToValue(node.get("metrics"), StepMetrics.class));
                default -> {
                    return Optional.of(node.path("event").asText() + ": " + node.path("detail").asText());
                }
            }
        } catch (java.io.IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }
}
