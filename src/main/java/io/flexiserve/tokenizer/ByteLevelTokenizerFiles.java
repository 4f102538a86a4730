package io.flexiserve.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes the demo model's tokenizer: byte-level BPE with no merges (ids 0..255 are the 256 bytes, in
 * GPT-2's byte-to-unicode alphabet), Llama 3's pre-tokenizer and decoder, and Llama 3's 256 special tokens
 * in Llama 3's order at ids 256..511 (id = 256 + llama3_id - 128000), plus the Llama 3 Instruct chat
 * template. Every string round-trips; special tokens behave as in Llama 3.
 */
public final class ByteLevelTokenizerFiles {

    /** Ids 0..255 are bytes; the special tokens follow. */
    public static final int SPECIAL_BASE = 256;
    public static final int VOCAB_SIZE = 512;
    public static final int BOS_ID = SPECIAL_BASE;          // <|begin_of_text|>
    public static final int END_OF_TEXT_ID = SPECIAL_BASE + 1; // <|end_of_text|>
    public static final int EOT_ID = SPECIAL_BASE + 9;      // <|eot_id|>

    /** Llama 3 Instruct's chat template, as its tokenizer_config.json carries it. */
    public static final String LLAMA3_CHAT_TEMPLATE = "{% set loop_messages = messages %}{% for message in loop_messages %}"
            + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim"
            + " + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
            + "{{ content }}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

    private static final String LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
            + "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private ByteLevelTokenizerFiles() {
    }

    /** Llama 3's name for special token k (0..255), i.e. for id 128000 + k. */
    public static String specialTokenName(int k) {
        return switch (k) {
            case 0 -> "<|begin_of_text|>";
            case 1 -> "<|end_of_text|>";
            case 6 -> "<|start_header_id|>";
            case 7 -> "<|end_header_id|>";
            case 9 -> "<|eot_id|>";
            default -> "<|reserved_special_token_" + (k < 6 ? k - 2 : k == 8 ? 4 : k - 5) + "|>";
        };
    }

    /** Writes tokenizer.json and tokenizer_config.json into {@code dir}. */
    public static void write(Path dir) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int k = 0; k < SPECIAL_BASE; k++) {
            added.addObject().put("id", SPECIAL_BASE + k).put("content", specialTokenName(k)).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer").put("type", "Sequence");
        ArrayNode pres = pre.putArray("pretokenizers");
        ObjectNode split = pres.addObject().put("type", "Split");
        split.putObject("pattern").put("Regex", LLAMA3_SPLIT);
        split.put("behavior", "Isolated").put("invert", false);
        pres.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true)
                .put("use_regex", false);
        postProcessor(root.putObject("post_processor"));
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true)
                .put("trim_offsets", true).put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout").putNull("unk_token").putNull("continuing_subword_prefix")
                .putNull("end_of_word_suffix").put("fuse_unk", false).put("byte_fallback", false)
                .put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        int[] alphabet = byteAlphabet();
        for (int b = 0; b < 256; b++) {
            vocab.put(new String(Character.toChars(alphabet[b])), b);
        }
        model.putArray("merges");
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer.json").toFile(), root);

        ObjectNode config = json.createObjectNode();
        config.put("bos_token", specialTokenName(0));
        config.put("eos_token", specialTokenName(9));
        config.put("chat_template", LLAMA3_CHAT_TEMPLATE);
        config.put("clean_up_tokenization_spaces", true);
        config.put("model_max_length", 4096);
        config.put("tokenizer_class", "PreTrainedTokenizerFast");
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer_config.json").toFile(), config);
    }

    /** As Meta's Llama 3 tokenizer.json: byte-level offsets, then BOS before every sequence. */
    private static void postProcessor(ObjectNode post) {
        post.put("type", "Sequence");
        ArrayNode processors = post.putArray("processors");
        processors.addObject().put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", false)
                .put("use_regex", true);
        ObjectNode template = processors.addObject().put("type", "TemplateProcessing");
        String bos = specialTokenName(0);
        template.putArray("single").addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
        template.withArray("single").addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = template.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode special = template.putObject("special_tokens").putObject(bos);
        special.put("id", bos);
        special.putArray("ids").add(BOS_ID);
        special.putArray("tokens").add(bos);
    }

    /** GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to code points 256 and up. */
    static int[] byteAlphabet() {
        int[] map = new int[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? b : next++;
        }
        return map;
    }
}
