package io.flexiserve.engine;

/** Why a sequence ended, in OpenAI's terms. */
public enum FinishReason {
    /** A stop token or, decided by the sink, a stop string. */
    STOP,
    /** max tokens reached. */
    LENGTH,
    /** The client went away or the request was cancelled. */
    ABORT,
    /** The step that carried the sequence failed. */
    ERROR;

    /** The OpenAI {@code finish_reason} string. */
    public String openAiName() {
        return switch (this) {
            case STOP -> "stop";
            case LENGTH -> "length";
            case ABORT -> "abort";
            case ERROR -> "error";
        };
    }
}
