package io.flexiserve.finetune;

import java.nio.file.Path;

/** What a training run reports while it works; called on the training thread. */
public interface TrainingListener {

    /** A human-readable progress line (loading, resuming, data counts). */
    void message(String text);

    /** After every optimizer step. */
    void step(StepMetrics metrics);

    /** After a checkpoint directory was written (atomically) at the end of {@code metrics.step()}. */
    void checkpoint(Path dir, StepMetrics metrics);
}
