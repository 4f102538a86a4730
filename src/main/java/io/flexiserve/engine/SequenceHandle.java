package io.flexiserve.engine;

/** A submitted sequence, which its owner may cancel (the client disconnected, or a sibling choice failed). */
public interface SequenceHandle {

    /** Ends the sequence with {@link FinishReason#ABORT} and frees its KV rows at the next step; idempotent. */
    void cancel();
}
