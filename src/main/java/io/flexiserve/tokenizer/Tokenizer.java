package io.flexiserve.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A checkpoint's {@code tokenizer.json} (byte-level BPE for Llama 3) through DJL's Rust HF tokenizers.
 * It is loaded from a stream with truncation, padding and special tokens off: DJL's defaults truncate to
 * 512 tokens and its directory loader chokes on Llama 3's tokenizer_config.json (DJL-NOTES trap 9). Special
 * tokens written in the text (as the chat template writes them) are recognised; BOS is never added here.
 */
public final class Tokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer hf;
    private final Map<String, Integer> specialTokens;

    private Tokenizer(HuggingFaceTokenizer hf, Map<String, Integer> specialTokens) {
        this.hf = hf;
        this.specialTokens = specialTokens;
    }

    /** Loads {@code dir/tokenizer.json}. */
    public static Tokenizer load(Path dir) {
        Path file = dir.resolve("tokenizer.json");
        Map<String, String> options = Map.of("addSpecialTokens", "false", "truncation", "false",
                "padding", "false", "modelMaxLength", String.valueOf(Integer.MAX_VALUE));
        try (InputStream in = Files.newInputStream(file)) {
            HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(in, options);
            return new Tokenizer(hf, specialTokens(file));
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException(file + ": cannot load tokenizer: " + e.getMessage(), e);
        }
    }

    private static Map<String, Integer> specialTokens(Path file) throws IOException {
        Map<String, Integer> special = new HashMap<>();
        for (JsonNode t : new ObjectMapper().readTree(file.toFile()).path("added_tokens")) {
            special.put(t.path("content").asText(), t.path("id").asInt());
        }
        return Map.copyOf(special);
    }

    /** The ids of {@code text}, with special tokens in the text recognised and nothing added. */
    public int[] encode(String text) {
        long[] ids = hf.encode(text, false, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    /** Text of the ids; special tokens (BOS, headers, EOS) are left out, as OpenAI-style servers do. */
    public String decode(int[] ids, int from, int to) {
        long[] window = new long[to - from];
        for (int i = from; i < to; i++) {
            window[i - from] = ids[i];
        }
        return hf.decode(window, true);
    }

    public String decode(int[] ids) {
        return decode(ids, 0, ids.length);
    }

    /** The id of an added (special) token such as {@code <|eot_id|>}, or -1. */
    public int specialTokenId(String token) {
        return specialTokens.getOrDefault(token, -1);
    }

    @Override
    public void close() {
        hf.close();
    }
}
