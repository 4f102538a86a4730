package io.flexiserve.engine;

/** The waiting queue is full: the request is refused before it costs anything (HTTP 429). */
public final class EngineOverloadedException extends RuntimeException {

    public EngineOverloadedException(String message) {
        super(message);
    }
}
