package io.flexiserve.engine;

/**
 * A snapshot of the engine's load and of its paged KV cache.
 *
 * @param running           sequences admitted (holding KV blocks, or preempted and waiting to recompute them)
 * @param waiting           sequences submitted and not yet admitted (a preempted one is running's, not here)
 * @param kvUsage           fraction of KV blocks in use, 0..1
 * @param blocksInUse       KV blocks held by sequences
 * @param blocksCached      KV blocks unused but kept for their prefix (evicted when a block is needed)
 * @param blocksFree        KV blocks with nothing in them
 * @param prefixQueryTokens prompt tokens looked up in the prefix cache at admission, since the start
 * @param prefixHitTokens   of those, tokens found there (not computed again)
 * @param preemptions       sequences preempted for KV blocks (and recomputed later), since the start
 */
public record EngineStats(int running, int waiting, double kvUsage, int blocksInUse, int blocksCached, int blocksFree,
                          long prefixQueryTokens, long prefixHitTokens, long preemptions) {

    public EngineStats(int running, int waiting, double kvUsage) {
        this(running, waiting, kvUsage, 0, 0, 0, 0, 0, 0);
    }
}
