package io.flexiserve.structured;

import java.math.BigDecimal;

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

    /**
     * Inside an array, after {@code count} items (saturated at the larger bound); with unique items, {@code used}
     * has bit {@code k} set once literal {@code k} was written.
     */
    record Arr(Node.Arr node, int phase, int count, int ws, long used) implements Frame {
        static final int AFTER_OPEN = 0;
        static final int AFTER_VALUE = 1;
        static final int AFTER_COMMA = 2;
    }

    /**
     * Inside a string of {@code node}: {@code cont} UTF-8 continuation bytes still due (the next one in
     * {@code [lo, hi]}, which excludes overlong forms, surrogates and code points past U+10FFFF), {@code hex} digits
     * of a {@code \}{@code u} escape still due, or just after a backslash. A constrained string's frames also hold
     * {@code count}, the characters begun (saturated at {@link Node.Str#cap}), and, with a pattern, {@code at}, the
     * pattern's state after the characters completed, and {@code cp}, the bits of the character under way. An
     * unconstrained string's frames are interned: a plain character leaves the stack as it is.
     */
    record Str(int cont, int hex, boolean escape, int lo, int hi, Node.Str node, int count, int at, int cp)
            implements Frame {
        static final Str PLAIN = syntax(0, 0, false, 0x80, 0xBF);
        static final Str ESCAPE = syntax(0, 0, true, 0x80, 0xBF);
        static final Str AFTER_E0 = syntax(2, 0, false, 0xA0, 0xBF);
        static final Str AFTER_ED = syntax(2, 0, false, 0x80, 0x9F);
        static final Str AFTER_F0 = syntax(3, 0, false, 0x90, 0xBF);
        static final Str AFTER_F4 = syntax(3, 0, false, 0x80, 0x8F);
        private static final Str[] CONT = {PLAIN, syntax(1, 0, false, 0x80, 0xBF), syntax(2, 0, false, 0x80, 0xBF),
            syntax(3, 0, false, 0x80, 0xBF)};
        private static final Str[] HEX = {PLAIN, syntax(0, 1, false, 0x80, 0xBF), syntax(0, 2, false, 0x80, 0xBF),
            syntax(0, 3, false, 0x80, 0xBF), syntax(0, 4, false, 0x80, 0xBF)};

        private static Str syntax(int cont, int hex, boolean escape, int lo, int hi) {
            return new Str(cont, hex, escape, lo, hi, Node.Str.ANY, 0, 0, 0);
        }

        static Str cont(int n) {
            return CONT[n];
        }

        static Str hex(int n) {
            return HEX[n];
        }

        /**
         * The syntax after UTF-8 lead byte {@code b}: the continuation bytes due and the range of the next (no
         * overlong form, surrogate or code point past U+10FFFF); null when {@code b} leads no character.
         */
        static Str afterLead(int b) {
            if (b >= 0xC2 && b <= 0xDF) {
                return cont(1);
            }
            if (b >= 0xE0 && b <= 0xEF) {
                return b == 0xE0 ? AFTER_E0 : b == 0xED ? AFTER_ED : cont(2);
            }
            if (b >= 0xF0 && b <= 0xF4) {
                return b == 0xF0 ? AFTER_F0 : b == 0xF4 ? AFTER_F4 : cont(3);
            }
            return null;
        }

        /** The bits of its code point that a UTF-8 lead byte carries. */
        static int leadBits(int b) {
            return b & (b < 0xE0 ? 0x1F : b < 0xF0 ? 0x0F : 0x07);
        }

        /** The frame after a string of {@code node} opens. */
        static Str open(Node.Str node) {
            return node.constrained()
                    ? new Str(0, 0, false, 0x80, 0xBF, node, 0, node.pattern == null ? 0 : node.pattern.start(), 0)
                    : PLAIN;
        }

        /**
         * This string after one more byte, in the syntax state of {@code syntax} (an interned frame): with a
         * character {@code begun}, and {@code done}, when not -1, the code point that the byte completed, else
         * {@code partial} the bits so far of the one under way. Null when the pattern cannot take that character.
         */
        Str next(Str syntax, boolean begun, int done, int partial) {
            if (!node.constrained()) {
                return syntax;
            }
            int state = at;
            if (node.pattern != null && done >= 0) {
                state = node.pattern.step(at, done);
                if (state < 0) {
                    return null;
                }
            } else if (node.pattern != null && !syntax.canComplete(node.pattern, at, partial)) {
                return null; // no character this one can still become may come: a dead end
            }
            return new Str(syntax.cont, syntax.hex, syntax.escape, syntax.lo, syntax.hi, node,
                    begun ? Math.min(count + 1, node.cap()) : count, state,
                    node.pattern == null || done >= 0 ? 0 : partial);
        }

        /**
         * Whether, in this syntax state with {@code partial} bits of a character under way, the character can still
         * become one that {@code pattern} takes after {@code at}: the code points its next bytes can complete (a
         * UTF-8 continuation in {@code [lo, hi]}, then any; hex digits), or after a backslash any that an escape
         * writes (a constrained string's escapes stay below U+D000 or between U+E000 and U+FFFF).
         */
        private boolean canComplete(StringPattern pattern, int at, int partial) {
            if (escape) {
                return pattern.anyIn(at, 0, 0xCFFF) || pattern.anyIn(at, 0xE000, 0xFFFF);
            }
            if (hex > 0) {
                int below = 4 * hex;
                return pattern.anyIn(at, partial << below, partial << below | (1 << below) - 1);
            }
            return pattern.canComplete(at, partial, cont, lo, hi);
        }

        /** Whether another character may begin. */
        boolean roomForOne() {
            return node.maxLength < 0 || count < node.maxLength;
        }

        /** Whether the closing quote may come: enough characters, and the pattern matched. */
        boolean mayClose() {
            return count >= node.minLength && (node.pattern == null || node.pattern.matches(at));
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

        /** The state after a number's first byte, {@code -} or a digit. */
        static int first(int b) {
            return b == '-' ? SIGN : b == '0' ? ZERO : INT;
        }

        /** Whether the number may end here: its syntax is complete and it lies within the node's bounds. */
        boolean mayEnd() {
            return (state == ZERO || state == INT || state == FRACTION || state == EXP_DIGITS)
                    && (text == null || node.bounds.contains(new BigDecimal(text)));
        }
    }

    /** Inside a literal (a keyword, a {@code const} or {@code enum} value, a key): {@code pos} bytes matched. */
    record Lit(byte[] bytes, int pos) implements Frame {
    }

    /**
     * Inside an output that a regular expression matches whole ({@link Node.Raw}): {@code at}, the pattern's state
     * after the characters completed, and a UTF-8 character under way ({@code cont} bytes still due, the next in
     * {@code [lo, hi]}, {@code cp} its bits so far).
     */
    record Raw(Node.Raw node, int at, int cont, int lo, int hi, int cp) implements Frame {
    }

    /** Free text after its first byte: anything goes, and it may end anywhere. */
    record Text() implements Frame {
        static final Text STARTED = new Text();
    }
}
