package io.flexiserve.api;

import io.flexiserve.engine.Engine;
import io.flexiserve.tokenizer.ChatTemplate;
import io.flexiserve.tokenizer.GenerationConfig;
import io.flexiserve.tokenizer.Tokenizer;
import java.util.List;

/**
 * One served model id as the HTTP layer sees it: its engine, its text tools, and what /v1/models shows.
 *
 * @param numLayers    L, the model's layers
 * @param routedLayers the 0-based FlexiDepth routed layers (empty for a plain Llama)
 * @param created      Unix seconds when it was loaded
 */
public record ModelEndpoint(String name, Engine engine, Tokenizer tokenizer, ChatTemplate chatTemplate,
                            GenerationConfig generationConfig, int numLayers, List<Integer> routedLayers,
                            int vocabSize, long created) {

    public int maxModelLen() {
        return engine.config().maxModelLen();
    }
}
