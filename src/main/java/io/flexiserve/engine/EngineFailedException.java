package io.flexiserve.engine;

/**
 * The engine died of an {@link Error} (out of memory in a step, a native failure) and takes no more work: the
 * model is unhealthy until the process restarts (HTTP 503, liveness down).
 */
public final class EngineFailedException extends RuntimeException {

    public EngineFailedException(String message) {
        super(message);
    }
}
