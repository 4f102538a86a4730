package io.flexiserve.finetune;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** A job checkpoint as listed (OpenAI's {@code fine_tuning.job.checkpoint}), with the metrics of its step. */
public record TrainingCheckpointInfo(String id, long createdAt, String jobId, int step, StepMetrics metrics, Path dir) {

    static List<TrainingCheckpointInfo> list(Path checkpoints, FineTuningJob job) {
        List<TrainingCheckpointInfo> out = new ArrayList<>();
        if (!Files.isDirectory(checkpoints)) {
            return out;
        }
        try (Stream<Path> dirs = Files.list(checkpoints)) {
            for (Path dir : dirs.filter(d -> d.getFileName().toString().startsWith("step-")).sorted(Comparator.reverseOrder()).toList()) {
                TrainingCheckpoint.State state = TrainingCheckpoint.readState(dir);
                out.add(new TrainingCheckpointInfo("ftckpt-" + job.id().substring("ftjob-".length()) + "-" + state.step(),
                        Files.getLastModifiedTime(dir).toMillis() / 1000, job.id(), state.step(), state.metrics(), dir));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list checkpoints of " + job.id(), e);
        }
        return out;
    }
}
