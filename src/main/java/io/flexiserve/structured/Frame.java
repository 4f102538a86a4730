package io.flexiserve.structured;

/**
 * One level of the {@link Matcher}'s stack: the value being written at that depth and how far into it the output
 * is. Frames are small immutable records compared by value, so two stacks that will accept the same bytes are
 * equal (and share a cached mask). Counters are saturated where only a bound matters.
 */
sealed interface Frame {

    /** Whitespace allowed in a row between two JSON tokens: bounded so that a model cannot loop on it. */
    int MAX_WHITESPACE = 10;

    /** The whole output: before its value ({@code done} false; leading whitespace counted) or after it. */
    record Root(Node node, boolean done, int ws) implements Frame {
    }

    /** Inside an object; {@code next} is the first property that may still come (map objects: unused). */
    record Obj(Node.Obj node, int phase, int next, int ws) implements Frame {
        static final int AFTER_OPEN = 0;
        static final int AFTER_KEY = 1;
        static final int AFTER_COLON = 2;
        static final int AFTER_VALUE = 3;
        static final int AFTER_COMMA = 4;
    }

    /** Inside an array, after {@code count} items (saturated at the larger bound). */
    record Arr(Node.Arr node, int phase, int count, int ws) implements Frame {
        static final int AFTER_OPEN = 0;
        static final int AFTER_VALUE = 1;
        static final int AFTER_COMMA = 2;
    }

    /**
     * Inside a string of {@code node}: {@code cont} UTF-8 continuation bytes still due (the next one in
     * {@code [lo, hi]}, which excludes overlong forms, surrogates and code points past U+10FFFF), {@code hex} digits
     * of a {@code \}{@code u} escape still due, or just after a backslash; {@code count} characters begun (a bounded
     * string's only: saturated at {@link Node.Str#cap}). An unbounded string's frames are interned: a plain
     * character leaves the stack as it is.
     */
    record Str(int cont, int hex, boolean escape, int lo, int hi, Node.Str node, int count) implements Frame {
        static final Str PLAIN = new Str(0, 0, false, 0x80, 0xBF, Node.Str.ANY, 0);
        static final Str ESCAPE = new Str(0, 0, true, 0x80, 0xBF, Node.Str.ANY, 0);
        static final Str AFTER_E0 = new Str(2, 0, false, 0xA0, 0xBF, Node.Str.ANY, 0);
        static final Str AFTER_ED = new Str(2, 0, false, 0x80, 0x9F, Node.Str.ANY, 0);
        static final Str AFTER_F0 = new Str(3, 0, false, 0x90, 0xBF, Node.Str.ANY, 0);
        static final Str AFTER_F4 = new Str(3, 0, false, 0x80, 0x8F, Node.Str.ANY, 0);
        private static final Str[] CONT = {PLAIN, new Str(1, 0, false, 0x80, 0xBF, Node.Str.ANY, 0),
            new Str(2, 0, false, 0x80, 0xBF, Node.Str.ANY, 0), new Str(3, 0, false, 0x80, 0xBF, Node.Str.ANY, 0)};
        private static final Str[] HEX = {PLAIN, new Str(0, 1, false, 0x80, 0xBF, Node.Str.ANY, 0),
            new Str(0, 2, false, 0x80, 0xBF, Node.Str.ANY, 0), new Str(0, 3, false, 0x80, 0xBF, Node.Str.ANY, 0),
            new Str(0, 4, false, 0x80, 0xBF, Node.Str.ANY, 0)};

        static Str cont(int n) {
            return CONT[n];
        }

        static Str hex(int n) {
            return HEX[n];
        }

        /** The frame after a string of {@code node} opens. */
        static Str open(Node.Str node) {
            return node.bounded() ? PLAIN.of(node, 0) : PLAIN;
        }

        /** This string in the syntax state of {@code syntax} (an interned frame), its characters counted as before. */
        Str to(Str syntax) {
            return node.bounded() ? syntax.of(node, count) : syntax;
        }

        /** This string with one more character begun, in the syntax state of {@code syntax}. */
        Str begun(Str syntax) {
            return node.bounded() ? syntax.of(node, Math.min(count + 1, node.cap())) : syntax;
        }

        /** Whether another character may begin. */
        boolean roomForOne() {
            return node.maxLength < 0 || count < node.maxLength;
        }

        /** Whether the closing quote may come. */
        boolean mayClose() {
            return count >= node.minLength;
        }

        private Str of(Node.Str n, int c) {
            return new Str(cont, hex, escape, lo, hi, n, c);
        }
    }

    /**
     * Inside a number of {@code node}: the {@code state} of JSON's number syntax, the digits of its current part,
     * and, when the node has bounds, the {@code text} so far (else null, so that numbers share their frames).
     */
    record Num(Node.Num node, int state, int digits, String text) implements Frame {
        static final int SIGN = 0;       // after '-'
        static final int ZERO = 1;       // a leading 0: may end
        static final int INT = 2;        // integer digits: may end
        static final int DOT = 3;        // after '.'
        static final int FRACTION = 4;   // may end
        static final int EXP = 5;        // after 'e'
        static final int EXP_SIGN = 6;   // after 'e-' or 'e+'
        static final int EXP_DIGITS = 7; // may end
        static final int MAX_DIGITS = 16;
        static final int MAX_EXP_DIGITS = 3;

        /** Whether the number may end here: its syntax is complete and it lies within the node's bounds. */
        boolean mayEnd() {
            return (state == ZERO || state == INT || state == FRACTION || state == EXP_DIGITS)
                    && (text == null || node.bounds.contains(new java.math.BigDecimal(text)));
        }
    }

    /** Inside a literal (a keyword, a {@code const} or {@code enum} value, a key): {@code pos} bytes matched. */
    record Lit(byte[] bytes, int pos) implements Frame {
    }

    /** Free text after its first byte: anything goes, and it may end anywhere. */
    record Text() implements Frame {
        static final Text STARTED = new Text();
    }
}
