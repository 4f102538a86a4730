package io.flexiserve.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Stop ids and default sampling from {@code generation_config.json}. Its {@code eos_token_id} may be one
 * id or a list (Llama 3 Instruct: 128001 and 128009); without the file, the tokenizer's eos token is the
 * only stop id.
 *
 * @param eosTokenIds ids that end a generation
 * @param temperature default temperature when a request gives none
 * @param topP        default nucleus mass when a request gives none
 */
public record GenerationConfig(Set<Integer> eosTokenIds, double temperature, double topP) {

    public GenerationConfig {
        eosTokenIds = Set.copyOf(eosTokenIds);
    }

    /** Reads {@code dir/generation_config.json}, falling back on the tokenizer's eos token. */
    public static GenerationConfig read(Path dir, Tokenizer tokenizer, String tokenizerEosToken) {
        Path file = dir.resolve("generation_config.json");
        Set<Integer> eos = new LinkedHashSet<>();
        double temperature = 1.0;
        double topP = 1.0;
        if (Files.exists(file)) {
            try {
                JsonNode root = new ObjectMapper().readTree(file.toFile());
                eos.addAll(ids(root.path("eos_token_id")));
                temperature = root.path("temperature").asDouble(1.0);
                topP = root.path("top_p").asDouble(1.0);
            } catch (IOException e) {
                throw new TokenizerException(file + ": cannot read: " + e.getMessage(), e);
            }
        }
        int fallback = tokenizer.specialTokenId(tokenizerEosToken);
        if (eos.isEmpty() && fallback >= 0) {
            eos.add(fallback);
        }
        if (eos.isEmpty()) {
            throw new TokenizerException(dir + ": no eos_token_id in generation_config.json and no eos_token in the tokenizer");
        }
        return new GenerationConfig(eos, temperature, topP);
    }

    private static List<Integer> ids(JsonNode node) {
        List<Integer> ids = new ArrayList<>();
        if (node.isArray()) {
            node.forEach(n -> ids.add(n.asInt()));
        } else if (node.canConvertToInt()) {
            ids.add(node.asInt());
        }
        return ids;
    }
}
