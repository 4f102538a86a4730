package io.flexiserve.finetune;

import ai.djl.Device;
import io.flexiserve.tokenizer.ChatTemplate;
import io.flexiserve.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.BooleanSupplier;

/**
 * One job's training from files on disk, the same in the service's JVM and in a Kubernetes trainer pod:
 * read and check the training file, tokenize it with the checkpoint's template, train, write the output.
 */
public final class TrainingRun {

    private TrainingRun() {
    }

    /** Trains; the outcome's output is empty when cancelled. Bad data or settings throw {@link JobSpecException}. */
    public static RouterTrainer.Outcome execute(Path checkpoint, Path routers, Path trainingFile, Hyperparameters hp, Path workDir,
                                                Device device, TrainingListener listener, BooleanSupplier cancelled)
            throws IOException {
        TrainingFile.Contents contents = TrainingFile.read(trainingFile);
        if (!contents.problems().isEmpty()) {
            throw new JobSpecException("training_file", contents.summary());
        }
        listener.message("Loading " + checkpoint.getFileName() + " for training on " + device);
        try (RouterTrainer trainer = RouterTrainer.load(checkpoint, routers, hp, device);
             Tokenizer tokenizer = Tokenizer.load(checkpoint)) {
            TrainingSet data = TrainingSet.of(contents.conversations(), ChatTemplate.load(checkpoint), tokenizer,
                    trainer.maxLength());
            if (data.examples().isEmpty()) {
                throw new JobSpecException("hyperparameters.max_length", "every example is longer than "
                        + trainer.maxLength() + " tokens; nothing is left to train on");
            }
            listener.message(data.examples().size() + " examples (" + data.tokens() + " tokens), " + data.dropped()
                    + " dropped as longer than " + trainer.maxLength() + " tokens; training routers of layers "
                    + trainer.routers().layers());
            return trainer.train(data, workDir, listener, cancelled);
        }
    }
}
