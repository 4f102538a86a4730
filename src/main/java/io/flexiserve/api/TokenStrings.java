package io.flexiserve.api;

import io.flexiserve.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;

/** One token as logprobs show it: its raw bytes, and those bytes as text (a partial character shows as U+FFFD). */
final class TokenStrings {

    private final Tokenizer tokenizer;

    TokenStrings(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    String text(int id) {
        return new String(tokenizer.tokenBytes(id), StandardCharsets.UTF_8);
    }

    int[] bytes(int id) {
        byte[] raw = tokenizer.tokenBytes(id);
        int[] out = new int[raw.length];
        for (int i = 0; i < raw.length; i++) {
            out[i] = raw[i] & 0xff;
        }
        return out;
    }
}
