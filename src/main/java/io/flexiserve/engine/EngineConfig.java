package io.flexiserve.engine;

/**
 * Engine limits.
 *
 * @param maxNumSeqs        sequences decoded together
 * @param maxBatchTokens    token rows per step
 * @param maxQueuedRequests sequences waiting for admission before new ones are refused
 * @param kvCacheTokens     KV cache capacity in tokens (whole blocks of it are used)
 * @param maxModelLen       longest sequence, prompt plus output
 * @param kvBlockSize       tokens per KV block (a power of two)
 * @param prefixCaching     whether full prompt blocks are kept and shared by later prompts that start alike
 */
public record EngineConfig(int maxNumSeqs, int maxBatchTokens, int maxQueuedRequests, int kvCacheTokens, int maxModelLen,
                           int kvBlockSize, boolean prefixCaching) {

    public static final int DEFAULT_BLOCK_SIZE = 16;

    public EngineConfig {
        if (maxNumSeqs < 1 || maxBatchTokens < 1 || maxQueuedRequests < 0 || kvCacheTokens < kvBlockSize
                || maxModelLen < 2 || kvBlockSize < 1 || Integer.bitCount(kvBlockSize) != 1) {
            throw new IllegalArgumentException("invalid engine limits: " + this);
        }
    }

    /** 16-token blocks, prefix caching on. */
    public EngineConfig(int maxNumSeqs, int maxBatchTokens, int maxQueuedRequests, int kvCacheTokens, int maxModelLen) {
        this(maxNumSeqs, maxBatchTokens, maxQueuedRequests, kvCacheTokens, maxModelLen, DEFAULT_BLOCK_SIZE, true);
    }

    /**
     * A service's limits on a KV budget of {@code kvTokens}: the cache in whole blocks (rounded up, so that a budget
     * sized for {@code maxModelLen} holds such a sequence), and the context no longer than the cache holds (a sequence
     * of n tokens keeps n - 1 in it). Without the second, a request of the full context with no max_tokens would
     * pass the context check and be refused by the cache, blaming a max_tokens the client never sent.
     */
    public static EngineConfig fitted(int maxNumSeqs, int maxBatchTokens, int maxQueuedRequests, int kvTokens,
                                      int maxModelLen, int kvBlockSize, boolean prefixCaching) {
        long capacity = ((long) kvTokens + kvBlockSize - 1) / kvBlockSize * kvBlockSize;
        int context = (int) Math.min(maxModelLen, capacity + 1);
        return new EngineConfig(maxNumSeqs, maxBatchTokens, maxQueuedRequests, (int) capacity, context, kvBlockSize,
                prefixCaching);
    }

    /** KV blocks: the capacity in whole blocks. */
    public int kvBlocks() {
        return kvCacheTokens / kvBlockSize;
    }
}
