package io.flexiserve.engine;

/**
 * The engine was closed (the service stops, or its router set was taken down) and takes no more work. Not an
 * overload: the caller says which it is (HTTP 404 for a model no longer served, 503 while the service stops).
 */
public final class EngineStoppedException extends RuntimeException {

    public EngineStoppedException(String message) {
        super(message);
    }
}
