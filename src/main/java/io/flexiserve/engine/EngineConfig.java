package io.flexiserve.engine;

/**
 * Engine limits.
 *
 * @param maxNumSeqs        sequences decoded together
 * @param maxBatchTokens    token rows per step
 * @param maxQueuedRequests sequences waiting for admission before new ones are refused
 * @param kvCacheTokens     KV cache capacity in tokens
 * @param maxModelLen       longest sequence, prompt plus output
 */
public record EngineConfig(int maxNumSeqs, int maxBatchTokens, int maxQueuedRequests, int kvCacheTokens, int maxModelLen) {

    public EngineConfig {
        if (maxNumSeqs < 1 || maxBatchTokens < 1 || maxQueuedRequests < 0 || kvCacheTokens < 1 || maxModelLen < 2) {
            throw new IllegalArgumentException("invalid engine limits: " + this);
        }
    }
}
