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
import java.util.Set;

/**
 * A checkpoint's {@code tokenizer.json} (byte-level BPE for Llama 3) through DJL's Rust HF tokenizers.
 * It is loaded from a stream with truncation, padding and special tokens off: DJL's defaults truncate to
 * 512 tokens and its directory loader chokes on Llama 3's tokenizer_config.json (docs/djl-traps.md, trap 9).
 * Special tokens written in the text (as the chat template writes them) are recognised; BOS is never added here.
 */
public final class Tokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer hf;
    private final Map<String, Integer> specialTokens;
    private final byte[][] tokenBytes; // by id; null where unknown
    private final Set<Integer> specialIds;

    private Tokenizer(HuggingFaceTokenizer hf, Map<String, Integer> specialTokens, byte[][] tokenBytes) {
        this.hf = hf;
        this.specialTokens = specialTokens;
        this.tokenBytes = tokenBytes;
        this.specialIds = Set.copyOf(specialTokens.values());
    }

    /** Loads {@code dir/tokenizer.json}. */
    public static Tokenizer load(Path dir) {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new TokenizerException(file + ": missing; a served checkpoint needs its tokenizer.json");
        }
        Map<String, String> options = Map.of("addSpecialTokens", "false", "truncation", "false",
                "padding", "false", "modelMaxLength", String.valueOf(Integer.MAX_VALUE));
        try (InputStream in = Files.newInputStream(file)) {
            HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(in, options);
            JsonNode json = new ObjectMapper().readTree(file.toFile());
            return new Tokenizer(hf, specialTokens(json), tokenBytes(json));
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException(file + ": cannot load tokenizer: " + e.getMessage(), e);
        }
    }

    private static Map<String, Integer> specialTokens(JsonNode json) {
        Map<String, Integer> special = new HashMap<>();
        for (JsonNode t : json.path("added_tokens")) {
            special.put(t.path("content").asText(), t.path("id").asInt());
        }
        return Map.copyOf(special);
    }

    /**
     * Bytes per id: byte-level BPE vocabularies spell bytes in GPT-2's printable alphabet, which is inverted
     * here; other vocabularies are left to decode().
     */
    private static byte[][] tokenBytes(JsonNode json) {
        int size = 0;
        for (JsonNode id : json.path("model").path("vocab")) {
            size = Math.max(size, id.asInt() + 1);
        }
        for (JsonNode t : json.path("added_tokens")) {
            size = Math.max(size, t.path("id").asInt() + 1);
        }
        byte[][] bytes = new byte[size][];
        boolean byteLevel = json.path("decoder").path("type").asText().equals("ByteLevel");
        if (byteLevel) {
            int[] alphabet = ByteLevelTokenizerFiles.byteAlphabet();
            Map<Integer, Byte> fromChar = new HashMap<>();
            for (int b = 0; b < 256; b++) {
                fromChar.put(alphabet[b], (byte) b);
            }
            for (var it = json.path("model").path("vocab").fields(); it.hasNext(); ) {
                var entry = it.next();
                int[] chars = entry.getKey().codePoints().toArray();
                byte[] out = new byte[chars.length];
                boolean ok = true;
                for (int i = 0; i < chars.length && ok; i++) {
                    Byte b = fromChar.get(chars[i]);
                    ok = b != null;
                    out[i] = ok ? b : 0;
                }
                bytes[entry.getValue().asInt()] = ok ? out : null;
            }
        }
        for (JsonNode t : json.path("added_tokens")) {
            bytes[t.path("id").asInt()] = t.path("content").asText().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
        return bytes;
    }

    /** The ids of {@code text}, with special tokens in the text recognised and nothing added. */
    public int[] encode(String text) {
        return toInts(hf.encode(text, false, false).getIds());
    }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    /**
     * The ids of {@code text} as the checkpoint's tokenizer encodes a plain prompt: its post-processor decides
     * about BOS (Meta's Llama 3 files add {@code <|begin_of_text|>}, some repackagings add nothing).
     */
    public int[] encodeWithSpecialTokens(String text) {
        return toInts(hf.encode(text, true, false).getIds());
    }

    /** The raw bytes of one token: UTF-8 of a special token's text, or the bytes a byte-level token stands for. */
    public byte[] tokenBytes(int id) {
        return id >= 0 && id < tokenBytes.length && tokenBytes[id] != null
                ? tokenBytes[id] : decode(new int[] {id}).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Vocabulary size as the tokenizer sees it (largest id + 1). */
    public int vocabularySize() {
        return tokenBytes.length;
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

    /** Whether {@code id} is an added (special) token: it stands for no text of the output. */
    public boolean special(int id) {
        return specialIds.contains(id);
    }

    /** The texts of the added (special) tokens, such as {@code <|eot_id|>}. */
    public Set<String> specialTokenTexts() {
        return specialTokens.keySet();
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
