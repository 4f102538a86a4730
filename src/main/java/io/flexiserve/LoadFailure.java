package io.flexiserve;

import io.flexiserve.model.checkpoint.CheckpointException;
import io.flexiserve.tokenizer.TokenizerException;
import java.nio.file.Path;

/** Turns whatever ended a model load into one sentence for the log and the health body: the cause, then the remedy. */
final class LoadFailure {

    private LoadFailure() {
    }

    /** A failure whose message says all (a bad checkpoint, configuration or budget): no stack trace in the log. */
    static boolean expected(Throwable e) {
        return e instanceof MemoryBudgetException || e instanceof CheckpointException || e instanceof TokenizerException
                || e instanceof IllegalArgumentException;
    }

    static String explain(Throwable e, Path dir, String dtype) {
        String what = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (e instanceof MemoryBudgetException) {
            return what;
        }
        if (e instanceof OutOfMemoryError) {
            return "out of memory while loading (" + e.getClass().getSimpleName() + ": " + what + ") with dtype " + dtype
                    + ". Remedy: a dtype that needs less memory (f16-weights), more memory for the process"
                    + " (the container's limit; -Xmx if the Java heap ran out), or a smaller flexiserve.model.max-model-len.";
        }
        if (e instanceof CheckpointException || e instanceof TokenizerException) {
            return what + ". Remedy: re-download or regenerate the checkpoint"
                    + (dir == null ? "" : " in " + dir) + ", or point flexiserve.model.path at a complete one.";
        }
        if (e instanceof IllegalArgumentException) {
            return what + ". Remedy: fix the configuration (flexiserve.model.*) or the checkpoint's config.json.";
        }
        if (e instanceof Error) {
            return "the loader failed with " + e.getClass().getSimpleName() + ": " + what + ". Remedy: check the log above;"
                    + " a native library failure may need another dtype or device.";
        }
        return e.getClass().getSimpleName() + ": " + what + ". Remedy: check the checkpoint"
                + (dir == null ? "" : " in " + dir) + " and the log above.";
    }
}
