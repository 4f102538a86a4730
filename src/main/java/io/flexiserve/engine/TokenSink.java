package io.flexiserve.engine;

/**
 * Where one sequence's output goes. Called on the engine thread, in order, so implementations must be quick
 * and must never block on the network: they hand text to the client's own buffered writer.
 */
public interface TokenSink {

    /**
     * A new token. Return false to end the sequence now with {@link FinishReason#STOP} (a stop string
     * matched); the token counts as generated.
     */
    boolean onToken(GeneratedToken token);

    /** The sequence ended; no call follows. */
    void onFinish(FinishReason reason, SequenceStats stats);

    /** The sequence failed (its step threw); no call follows. */
    void onError(String message);

    /**
     * The engine stopped before the sequence ended (the service shutting down past its grace period, or the model
     * removed) and the client had not cancelled it; no call follows. By default a failure like {@link #onError}.
     */
    default void onStopped(String message) {
        onError(message);
    }
}
