package io.flexiserve.structured;

import java.util.Arrays;
import java.util.Comparator;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;

/**
 * A tokenizer's tokens as the bytes each one writes, sorted, so that a mask is one walk over them in which tokens
 * that share a prefix share the matcher states of that prefix, and a prefix the grammar refuses skips every token
 * under it. Built once per tokenizer; special tokens (and ids without bytes) are never part of a structured output.
 */
public final class TokenVocabulary {

    final int size;
    final int[] ids;        // by sorted position
    final byte[][] bytes;   // by sorted position
    final int[] shared;     // bytes shared with the previous position's token
    final int longest;
    private final byte[][] byId;

    private TokenVocabulary(int size, int[] ids, byte[][] bytes, byte[][] byId) {
        this.size = size;
        this.byId = byId;
        this.ids = ids;
        this.bytes = bytes;
        this.shared = new int[ids.length];
        int longest = 0;
        for (int i = 0; i < ids.length; i++) {
            longest = Math.max(longest, bytes[i].length);
            if (i > 0) {
                shared[i] = Arrays.mismatch(bytes[i - 1], bytes[i]);
                if (shared[i] < 0) {
                    shared[i] = bytes[i].length; // two ids with the same bytes
                }
            }
        }
        this.longest = longest;
    }

    /**
     * @param size    the logits' length (ids at or above the tokenizer's vocabulary are never allowed)
     * @param bytesOf the bytes a token writes, or null
     * @param special ids that are never part of an output (the end of text is added by the matcher)
     */
    public static TokenVocabulary of(int size, IntFunction<byte[]> bytesOf, IntPredicate special) {
        Integer[] order = new Integer[size];
        byte[][] byId = new byte[size][];
        int n = 0;
        for (int id = 0; id < size; id++) {
            byte[] b = special.test(id) ? null : bytesOf.apply(id);
            if (b != null && b.length > 0) {
                byId[id] = b;
                order[n++] = id;
            }
        }
        Integer[] sorted = Arrays.copyOf(order, n);
        Arrays.sort(sorted, Comparator.comparing((Integer id) -> byId[id], Arrays::compareUnsigned));
        int[] ids = new int[n];
        byte[][] bytes = new byte[n][];
        for (int i = 0; i < n; i++) {
            ids[i] = sorted[i];
            bytes[i] = byId[sorted[i]];
        }
        return new TokenVocabulary(size, ids, bytes, byId);
    }

    /** The ids covered: the logits' length. */
    public int size() {
        return size;
    }

    /** The bytes of token {@code id}, or null for a special token. */
    byte[] bytesOf(int id) {
        return id >= 0 && id < size ? byId[id] : null;
    }

    /** The tokens allowed after {@code state}, one bit per id (end tokens not included). */
    long[] allowed(State state) {
        long[] mask = new long[(size + 63) >>> 6];
        State[] at = new State[longest + 1];
        at[0] = state;
        int valid = 0;                 // at[0..valid] are the states along the last token walked
        int dead = Integer.MAX_VALUE;  // that token's first refused prefix length
        for (int i = 0; i < ids.length; i++) {
            if (shared[i] >= dead) {
                continue; // begins with a refused prefix
            }
            byte[] b = bytes[i];
            dead = Integer.MAX_VALUE;
            for (int d = Math.min(shared[i], valid); d < b.length; d++) {
                State next = at[d].advance(b[d] & 0xff);
                if (next == null) {
                    dead = d + 1;
                    break;
                }
                at[d + 1] = next;
            }
            valid = dead == Integer.MAX_VALUE ? b.length : dead - 1;
            if (dead == Integer.MAX_VALUE) {
                mask[ids[i] >>> 6] |= 1L << ids[i];
            }
        }
        return mask;
    }
}
