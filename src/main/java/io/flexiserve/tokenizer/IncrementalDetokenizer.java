package io.flexiserve.tokenizer;

import java.util.Arrays;

/**
 * Turns a growing list of token ids into text deltas. Each step re-decodes a short window (from the
 * previous read point) and emits only the new suffix, holding it back while it ends in U+FFFD, the mark of
 * a UTF-8 character whose bytes are split over tokens. The concatenated deltas equal the decoding of all
 * ids (the method of HF text-generation-inference and vLLM).
 */
public final class IncrementalDetokenizer {

    private static final char REPLACEMENT = '\uFFFD';

    private final Tokenizer tokenizer;
    private int[] ids = new int[16];
    private int size;
    private int prefixOffset;
    private int readOffset;

    public IncrementalDetokenizer(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Adds one generated id; returns the text it completes, possibly empty. */
    public String add(int id) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = id;
        String prefix = tokenizer.decode(ids, prefixOffset, readOffset);
        String text = tokenizer.decode(ids, prefixOffset, size);
        if (text.length() > prefix.length() && text.charAt(text.length() - 1) != REPLACEMENT) {
            prefixOffset = readOffset;
            readOffset = size;
            return text.substring(prefix.length());
        }
        return "";
    }

    /** At the end of a generation: whatever was held back (an incomplete character decodes to U+FFFD). */
    public String flush() {
        String prefix = tokenizer.decode(ids, prefixOffset, readOffset);
        String text = tokenizer.decode(ids, prefixOffset, size);
        prefixOffset = readOffset = size;
        return text.length() > prefix.length() ? text.substring(prefix.length()) : "";
    }
}
