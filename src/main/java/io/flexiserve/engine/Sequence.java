package io.flexiserve.engine;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;

/** One sequence's state inside the engine: its tokens, how many are in the KV cache, and where. Engine thread only. */
final class Sequence implements SequenceHandle {

    final GenerationRequest request;
    final TokenSink sink;
    final SplittableRandom random;
    final long submittedNanos = System.nanoTime();
    private final Engine engine;
    private final Map<Integer, Integer> outputCounts = new HashMap<>();
    private int[] tokens;
    private int length;
    int cached;           // tokens whose K/V are in the cache
    int kvOffset = -1;    // first cache row, once admitted
    long scheduledNanos;
    long firstTokenNanos;
    long lastTokenNanos;
    long decodeLayers;
    boolean finished;
    volatile boolean cancelled;

    Sequence(GenerationRequest request, TokenSink sink, Engine engine) {
        this.request = request;
        this.sink = sink;
        this.engine = engine;
        Long seed = request.sampling().seed();
        this.random = new SplittableRandom(seed != null ? seed : ThreadLocalRandom.current().nextLong());
        this.tokens = Arrays.copyOf(request.promptIds(), request.promptIds().length + 16);
        this.length = request.promptIds().length;
    }

    int promptLength() {
        return request.promptIds().length;
    }

    int length() {
        return length;
    }

    int generated() {
        return length - promptLength();
    }

    /** Tokens not yet in the cache: the rest of the prompt, or the last sampled token. */
    int pending() {
        return length - cached;
    }

    boolean prefilling() {
        return cached < promptLength();
    }

    int[] tokens(int from, int count) {
        return Arrays.copyOfRange(tokens, from, from + count);
    }

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, length * 2);
        }
        tokens[length++] = token;
        outputCounts.merge(token, 1, Integer::sum);
    }

    /** How often each token occurs in the output so far (for frequency and presence penalties). */
    Map<Integer, Integer> outputCounts() {
        return outputCounts;
    }

    SequenceStats stats(long now) {
        return new SequenceStats(promptLength(), generated(), decodeLayers,
                seconds(scheduledNanos), seconds(firstTokenNanos), (now - submittedNanos) / 1e9);
    }

    private double seconds(long at) {
        return at == 0 ? Double.NaN : (at - submittedNanos) / 1e9;
    }

    @Override
    public void cancel() {
        if (!cancelled) {
            cancelled = true;
            engine.cancel(this);
        }
    }
}
