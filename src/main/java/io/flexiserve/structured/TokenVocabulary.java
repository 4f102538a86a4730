package io.flexiserve.structured;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;

/**
 * A tokenizer's tokens as the bytes each one writes, sorted, so that a mask is one walk over them in which tokens
 * that share a prefix share the matcher states of that prefix, and a prefix the grammar refuses skips every token
 * under it. Inside a string (where outputs spend most of their tokens and nearly every token is allowed) only the
 * tokens with a quote depend on what surrounds the string; the rest are decided once per vocabulary. Built once per
 * tokenizer; special tokens (and ids without bytes) are never part of a structured output.
 */
public final class TokenVocabulary {

    /** Tokens in byte order with what each shares with the one before it. */
    private record Sorted(int[] ids, byte[][] bytes, int[] shared, int longest) {

        static Sorted of(int[] ids, byte[][] byId) {
            byte[][] bytes = new byte[ids.length][];
            int[] shared = new int[ids.length];
            int longest = 0;
            for (int i = 0; i < ids.length; i++) {
                bytes[i] = byId[ids[i]];
                longest = Math.max(longest, bytes[i].length);
                if (i > 0) {
                    int m = Arrays.mismatch(bytes[i - 1], bytes[i]);
                    shared[i] = m < 0 ? bytes[i].length : m; // m < 0: two ids with the same bytes
                }
            }
            return new Sorted(ids, bytes, shared, longest);
        }
    }

    private final int size;
    private final byte[][] byId;
    private final Sorted all;
    private final Sorted quoted;        // the tokens with a '"' in them
    private final long[] stringContent; // the tokens that, from inside a string, stay inside it
    private volatile int[] lengthInString; // per such token: the characters it begins in a length-bounded string

    private TokenVocabulary(int size, byte[][] byId, int[] sortedIds) {
        this.size = size;
        this.byId = byId;
        this.all = Sorted.of(sortedIds, byId);
        this.quoted = Sorted.of(Arrays.stream(sortedIds).filter(id -> contains(byId[id], '"')).toArray(), byId);
        this.stringContent = new long[words()];
        Stack inString = new Stack(Frame.Str.PLAIN, new Stack(new Frame.Root(null, true, 0), null));
        for (int id : sortedIds) {
            if (inStringAfter(inString, byId[id]) != null) {
                stringContent[id >>> 6] |= 1L << id;
            }
        }
    }

    /**
     * @param size    the logits' length (ids at or above the tokenizer's vocabulary are never allowed)
     * @param bytesOf the bytes a token writes, or null
     * @param special ids that are never part of an output (the end of text is added by the matcher)
     */
    public static TokenVocabulary of(int size, IntFunction<byte[]> bytesOf, IntPredicate special) {
        byte[][] byId = new byte[size][];
        int n = 0;
        Integer[] order = new Integer[size];
        for (int id = 0; id < size; id++) {
            byte[] b = special.test(id) ? null : bytesOf.apply(id);
            if (b != null && b.length > 0) {
                byId[id] = b;
                order[n++] = id;
            }
        }
        Integer[] sorted = Arrays.copyOf(order, n);
        Arrays.sort(sorted, Comparator.comparing((Integer id) -> byId[id], Arrays::compareUnsigned));
        return new TokenVocabulary(size, byId, Arrays.stream(sorted).mapToInt(Integer::intValue).toArray());
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
        if (state.inPlainString()) {
            long[] mask = stringContent.clone();
            walk(quoted, state, mask);
            return mask;
        }
        Frame.Str bounded = state.inLengthBoundedString();
        if (bounded != null) { // the tokens that stay inside and fit what maxLength leaves, then those with a quote
            long[] mask = new long[words()];
            int room = bounded.node().maxLength < 0 ? Integer.MAX_VALUE : bounded.node().maxLength - bounded.count();
            int[] lengths = lengthInString();
            for (int w = 0; w < stringContent.length; w++) {
                for (long bits = stringContent[w]; bits != 0; bits &= bits - 1) {
                    int id = w << 6 | Long.numberOfTrailingZeros(bits);
                    if (lengths[id] >= 0 && lengths[id] <= room) {
                        mask[w] |= 1L << id;
                    }
                }
            }
            walk(quoted, state, mask);
            return mask;
        }
        long[] mask = new long[words()];
        walk(all, state, mask);
        return mask;
    }

    /** Sets the bit of every token of {@code tokens} that {@code state} accepts whole. */
    private static void walk(Sorted tokens, State state, long[] mask) {
        State[] at = new State[tokens.longest + 1];
        at[0] = state;
        int valid = 0;                 // at[0..valid] are the states along the last token walked
        int dead = Integer.MAX_VALUE;  // that token's first refused prefix length
        for (int i = 0; i < tokens.ids.length; i++) {
            if (tokens.shared[i] >= dead) {
                continue; // begins with a refused prefix
            }
            byte[] b = tokens.bytes[i];
            dead = Integer.MAX_VALUE;
            for (int d = Math.min(tokens.shared[i], valid); d < b.length; d++) {
                State next = at[d].advance(b[d] & 0xff);
                if (next == null) {
                    dead = d + 1;
                    break;
                }
                at[d + 1] = next;
            }
            valid = dead == Integer.MAX_VALUE ? b.length : dead - 1;
            if (dead == Integer.MAX_VALUE) {
                mask[tokens.ids[i] >>> 6] |= 1L << tokens.ids[i];
            }
        }
    }

    /**
     * For each token that stays inside a string: the characters it begins there when the string's length is bounded
     * (the frames count them), or -1 when such a string refuses it (an escape opening with {@code d}). Found once.
     */
    private int[] lengthInString() {
        int[] lengths = lengthInString;
        if (lengths == null) {
            Node.Str unbounded = new Node.Str(0, Integer.MAX_VALUE, null); // counts every character, refuses nothing else
            Stack inString = new Stack(Frame.Str.open(unbounded), new Stack(new Frame.Root(null, true, 0), null));
            lengths = new int[size];
            for (int w = 0; w < stringContent.length; w++) {
                for (long bits = stringContent[w]; bits != 0; bits &= bits - 1) {
                    int id = w << 6 | Long.numberOfTrailingZeros(bits);
                    Stack s = inStringAfter(inString, byId[id]);
                    lengths[id] = s == null ? -1 : ((Frame.Str) s.top).count();
                }
            }
            lengthInString = lengths;
        }
        return lengths;
    }

    private int words() {
        return (size + 63) >>> 6;
    }

    /** The stack after {@code bytes} from inside a string ({@code inString}), or null when they leave it or break it. */
    private static Stack inStringAfter(Stack inString, byte[] bytes) {
        List<Stack> out = new ArrayList<>(1);
        Stack s = inString;
        for (byte b : bytes) {
            out.clear();
            Transitions.step(s, b & 0xff, out);
            if (out.isEmpty() || !(out.get(0).top instanceof Frame.Str)) {
                return null;
            }
            s = out.get(0);
        }
        return s;
    }

    private static boolean contains(byte[] bytes, char c) {
        for (byte b : bytes) {
            if (b == c) {
                return true;
            }
        }
        return false;
    }
}
