package io.flexiserve.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A trainer pod's JSON log lines replay into the same reports the local runner gives, other output ignored. */
class TrainerLogTest {

    @Test
    void replaysStepsCheckpointsMessagesAndTheOutcome() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        TrainerLog log = new TrainerLog(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        StepMetrics m = new StepMetrics(3, 10, 2.5, 2.4, 10.0, 6.25, 1e-4, 1234);
        log.message("Loading demo");
        log.step(m);
        log.checkpoint(Path.of("/data/ckpt"), m);
        log.outcome("succeeded", "/data/out");
        String output = "WARNING: libtorch says hello\n" + bytes.toString(StandardCharsets.UTF_8) + "{\"not\":\"ours\"}\n";

        List<String> messages = new ArrayList<>();
        List<StepMetrics> steps = new ArrayList<>();
        List<Path> checkpoints = new ArrayList<>();
        TrainingListener recorder = new TrainingListener() {
            @Override
            public void message(String text) {
                messages.add(text);
            }

            @Override
            public void step(StepMetrics metrics) {
                steps.add(metrics);
            }

            @Override
            public void checkpoint(Path dir, StepMetrics metrics) {
                checkpoints.add(dir);
            }
        };
        List<String> outcomes = new ArrayList<>();
        output.lines().forEach(line -> TrainerLog.replay(line, recorder).ifPresent(outcomes::add));
        assertEquals(List.of("Loading demo"), messages);
        assertEquals(List.of(m), steps);
        assertEquals(List.of(Path.of("/data/ckpt")), checkpoints);
        assertEquals(List.of("succeeded: /data/out"), outcomes);
        assertTrue(TrainerLog.replay("{\"flexiserve\":\"trainer\",\"event\":\"step\",\"metrics\":{\"step\":\"x\"}}", recorder)
                .equals(Optional.empty()), "a garbled line is skipped");
    }
}
