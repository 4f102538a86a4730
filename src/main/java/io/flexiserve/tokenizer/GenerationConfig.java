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
 * id or a list (Llama 3 Instruct: 128001 and 128009); the tokenizer's eos token stops too, as do the turn
 * markers the chat template ends a message with ({@code <|eot_id|>}, {@code <|eom_id|>}): a checkpoint without
 * the file, whose tokenizer's eos is {@code <|end_of_text|>}, would otherwise write past the end of its turn.
 *
 * @param eosTokenIds ids that end a generation
 * @param temperature default temperature when a request gives none
 * @param topP        default nucleus mass when a request gives none
 */
public record GenerationConfig(Set<Integer> eosTokenIds, double temperature, double topP) {

    public GenerationConfig {
        eosTokenIds = Set.copyOf(eosTokenIds);
    }

    /** Turn markers of Llama 3's chat templates: a message ends with one of them, and so does a reply. */
    private static final List<String> TURN_ENDS = List.of("<|eot_id|>", "<|eom_id|>");

    /** Reads {@code dir/generation_config.json}, adding the tokenizer's eos token and the template's turn ends. */
    public static GenerationConfig read(Path dir, Tokenizer tokenizer, ChatTemplate template) {
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
            // defaults for every request that omits them: refused here, not in each request blaming its client
            if (!(temperature >= 0 && temperature <= 2)) {
                throw new TokenizerException(file + ": temperature must be in [0, 2], got " + temperature);
            }
            if (!(topP > 0 && topP <= 1)) {
                throw new TokenizerException(file + ": top_p must be in (0, 1], got " + topP);
            }
        }
        int tokenizerEos = tokenizer.specialTokenId(template.eosToken());
        if (tokenizerEos >= 0) {
            eos.add(tokenizerEos);
        }
        for (String marker : TURN_ENDS) {
            int id = tokenizer.specialTokenId(marker);
            if (id >= 0 && template.mentions(marker)) {
                eos.add(id);
            }
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
