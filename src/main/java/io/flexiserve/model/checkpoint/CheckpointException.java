package io.flexiserve.model.checkpoint;

import java.nio.file.Path;

/** A checkpoint that cannot be loaded; the message names the file and what is wrong with it. */
public final class CheckpointException extends RuntimeException {

    public CheckpointException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public CheckpointException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
