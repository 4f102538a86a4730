package io.flexiserve.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** A service's engine limits: a sequence the context admits always fits the KV cache. */
class EngineConfigTest {

    @Test
    void aBudgetSizedForTheContextIsRoundedUpToWholeBlocks() {
        EngineConfig c = EngineConfig.fitted(64, 2048, 256, 5000, 5000, 16, true);
        assertEquals(5008, c.kvCacheTokens(), "313 blocks, not 312 (4992 tokens, short of a 5000-token sequence)");
        assertEquals(5000, c.maxModelLen());
        GenerationRequest full = new GenerationRequest(new int[4000], null, 1000, java.util.Set.of(), 0.5f, -1, null);
        assertEquals(true, full.kvTokens() <= c.kvBlocks() * c.kvBlockSize());
    }

    @Test
    void aCacheSmallerThanTheModelsContextLimitsTheContext() {
        EngineConfig c = EngineConfig.fitted(64, 2048, 256, 4096, 8192, 16, true);
        assertEquals(4096, c.kvCacheTokens());
        assertEquals(4097, c.maxModelLen(), "n tokens keep n - 1 in the cache");
    }
}
