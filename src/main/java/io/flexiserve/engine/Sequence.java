package io.flexiserve.engine;

import io.flexiserve.model.KvRows;
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
    boolean counted;      // no longer counted as queued (admitted, or gone before it was)
    int cachedPromptTokens; // prompt tokens whose K/V a cached prefix gave at the last admission
    int preemptions;
    private int promptRowsRead; // prompt positions below this were computed once already (a preemption recomputes them)
    private int[] blocks = new int[8]; // the block table: the KV blocks of positions 0, B, 2B, ...
    private int blockCount;
    private BlockKey[] keys = new BlockKey[0]; // identities of the full prompt blocks, computed as needed
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

    /**
     * The prompt rows of a chunk at positions {@code [from, from + count)} computed for the first time: a
     * preemption's recomputation is not counted twice, nor a prefix the cache gave.
     */
    int promptRowsFirstRead(int from, int count) {
        int end = Math.min(from + count, promptLength());
        int fresh = Math.max(0, end - Math.max(from, promptRowsRead));
        promptRowsRead = Math.max(promptRowsRead, end);
        return fresh;
    }

    /** Reading its prompt, or its prompt and output again after a preemption. */
    boolean prefilling() {
        return cached < promptLength() || pending() > 1;
    }

    int blockCount() {
        return blockCount;
    }

    /** The KV block of positions [k B, (k + 1) B). */
    int block(int k) {
        return blocks[k];
    }

    void addBlock(int block) {
        if (blockCount == blocks.length) {
            blocks = Arrays.copyOf(blocks, blockCount * 2);
        }
        blocks[blockCount++] = block;
    }

    /** Hands back the block table (the caller releases the blocks) and forgets it. */
    int[] takeBlocks() {
        int[] taken = Arrays.copyOf(blocks, blockCount);
        blockCount = 0;
        return taken;
    }

    /** Where its tokens sit in the cache: its block table. */
    KvRows kvRows(int blockSize) {
        return new KvRows.Paged(Arrays.copyOf(blocks, blockCount), blockSize);
    }

    /** The identity of full prompt block {@code k} of {@code blockSize} tokens (chained over the ones before it). */
    BlockKey promptBlockKey(int k, int blockSize) {
        if (keys.length <= k) {
            keys = Arrays.copyOf(keys, Math.max(k + 1, keys.length * 2));
        }
        if (keys[k] == null) {
            BlockKey parent = k == 0 ? null : promptBlockKey(k - 1, blockSize);
            keys[k] = BlockKey.of(parent, request.promptIds(), k * blockSize, blockSize, request.threshold());
        }
        return keys[k];
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
                seconds(scheduledNanos), seconds(firstTokenNanos), (now - submittedNanos) / 1e9, cachedPromptTokens);
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
