package io.flexiserve.api;

/**
 * Per-request limits, refused with a 400 naming the field before a request costs any compute.
 *
 * @param maxN             choices per prompt
 * @param maxChoices       prompts times n
 * @param maxStop          stop strings
 * @param maxStopLength    characters per stop string
 * @param maxLogitBias     logit_bias entries
 * @param maxMessages      chat messages
 * @param maxPrompts       prompts in one text completion
 * @param maxTokens        completion tokens per choice; 0 means up to the context limit
 * @param streamBufferBytes SSE bytes queued for a client that reads slower than tokens come before its stream
 *                          is dropped (so a slow reader holds neither memory nor the engine)
 * @param streamStallSeconds seconds a stream's client may accept none of the bytes waiting for it before the stream
 *                          is dropped as if its buffer were full (a stalled client of a slow stream)
 */
public record RequestLimits(int maxN, int maxChoices, int maxStop, int maxStopLength, int maxLogitBias, int maxMessages,
                            int maxPrompts, int maxTokens, int streamBufferBytes, int streamStallSeconds) {

    /** The documented defaults. */
    public static final RequestLimits DEFAULTS = new RequestLimits(16, 64, 4, 256, 300, 1024, 64, 0, 1 << 20, 30);
}
