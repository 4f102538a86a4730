package io.flexiserve.structured;

import java.util.List;

/**
 * JSON's syntax as transitions of a {@link Stack} on one byte: every stack that can follow is added to {@code out}
 * (none when the byte is not allowed). A frame that may end without a byte of its own (a number) also hands the
 * byte to the frame below it.
 */
final class Transitions {

    private Transitions() {
    }

    static void step(Stack s, int b, List<Stack> out) {
        Frame top = s.top;
        if (top instanceof Frame.Str str) {
            string(str, s, b, out);
        } else if (top instanceof Frame.Obj o) {
            object(o, s, b, out);
        } else if (top instanceof Frame.Arr a) {
            array(a, s, b, out);
        } else if (top instanceof Frame.Num n) {
            number(n, s, b, out);
        } else if (top instanceof Frame.Lit l) {
            literal(l, s, b, out);
        } else if (top instanceof Frame.Root r) {
            root(r, s, b, out);
        } else if (top instanceof Frame.Raw r) {
            raw(r, s, b, out);
        } else { // Text
            out.add(s);
        }
    }

    /** Whether the output may end with this stack: its top completes the root's value. */
    static boolean accepting(Stack s) {
        if (s.top instanceof Frame.Root r) {
            return r.done();
        }
        if (s.top instanceof Frame.Num n) {
            return n.mayEnd() && accepting(s.below);
        }
        if (s.top instanceof Frame.Raw r) {
            return r.cont() == 0 && r.node().pattern.matches(r.at());
        }
        return s.top instanceof Frame.Text;
    }

    /** The first byte of a value of {@code node}, whose frame goes on {@code below}. */
    static void startValue(Node node, Stack below, int b, List<Stack> out) {
        if (node instanceof Node.AnyOf any) {
            for (Node option : any.options) {
                startValue(option, below, b, out);
            }
        } else if (node instanceof Node.Ref ref) {
            startValue(ref.resolved(), below, b, out);
        } else if (node instanceof Node.Obj o && b == '{') {
            out.add(new Stack(new Frame.Obj(o, Frame.Obj.AFTER_OPEN, 0, 0), below));
        } else if (node instanceof Node.Arr a && b == '[') {
            out.add(new Stack(new Frame.Arr(a, Frame.Arr.AFTER_OPEN, 0, 0, 0), below));
        } else if (node instanceof Node.Str str && b == '"') {
            out.add(new Stack(Frame.Str.open(str), below));
        } else if (node instanceof Node.Num n && (b == '-' || b >= '0' && b <= '9')) {
            int state = Frame.Num.first(b);
            String text = n.bounds == null ? null : String.valueOf((char) b);
            if (text == null || n.bounds.reachable(text, state, n.integer)) {
                out.add(new Stack(new Frame.Num(n, state, b == '-' ? 0 : 1, text), below));
            }
        } else if (node instanceof Node.Literal l && b == (l.bytes[0] & 0xff)) {
            out.add(l.bytes.length == 1 ? below : new Stack(new Frame.Lit(l.bytes, 1), below));
        } else if (node instanceof Node.Text t && b != t.notFirst && !whitespace(b)) {
            out.add(new Stack(Frame.Text.STARTED, below));
        }
    }

    static boolean whitespace(int b) {
        return b == ' ' || b == '\n' || b == '\t';
    }

    private static void root(Frame.Root r, Stack s, int b, List<Stack> out) {
        if (r.done()) {
            return; // nothing may follow the value: the end token is forced
        }
        if (whitespace(b)) {
            if (r.ws() < Frame.MAX_WHITESPACE) {
                out.add(s.with(new Frame.Root(r.node(), false, r.ws() + 1)));
            }
            return;
        }
        startValue(r.node(), s.with(new Frame.Root(r.node(), true, 0)), b, out);
    }

    private static void object(Frame.Obj o, Stack s, int b, List<Stack> out) {
        Node.Obj node = o.node();
        if (whitespace(b)) {
            if (o.ws() < Frame.MAX_WHITESPACE) {
                out.add(s.with(new Frame.Obj(node, o.phase(), o.next(), o.ws() + 1)));
            }
            return;
        }
        switch (o.phase()) {
            case Frame.Obj.AFTER_OPEN -> {
                if (b == '}' && !requiredFrom(node, o.next())) {
                    out.add(s.below);
                } else if (b == '"') {
                    keys(node, o.next(), s, out);
                }
            }
            case Frame.Obj.AFTER_COMMA -> {
                if (b == '"') {
                    keys(node, o.next(), s, out);
                }
            }
            case Frame.Obj.AFTER_KEY -> {
                if (b == ':') {
                    out.add(s.with(new Frame.Obj(node, Frame.Obj.AFTER_COLON, o.next(), 0)));
                }
            }
            case Frame.Obj.AFTER_COLON -> {
                Node value = node.map() ? node.additional : node.properties.get(o.next() - 1).value();
                startValue(value, s.with(new Frame.Obj(node, Frame.Obj.AFTER_VALUE, o.next(), 0)), b, out);
            }
            default -> { // AFTER_VALUE
                if (b == ',' && (node.map() || o.next() < node.properties.size())) {
                    out.add(s.with(new Frame.Obj(node, Frame.Obj.AFTER_COMMA, o.next(), 0)));
                } else if (b == '}' && !requiredFrom(node, o.next())) {
                    out.add(s.below);
                }
            }
        }
    }

    /** After a key's opening quote: any string for a map; else each property that may come next, in order. */
    private static void keys(Node.Obj node, int next, Stack s, List<Stack> out) {
        if (node.map()) {
            out.add(new Stack(Frame.Str.PLAIN, s.with(new Frame.Obj(node, Frame.Obj.AFTER_KEY, 0, 0))));
            return;
        }
        for (int j = next; j < node.properties.size(); j++) {
            Node.Property p = node.properties.get(j);
            out.add(new Stack(new Frame.Lit(p.keyTail(), 0), s.with(new Frame.Obj(node, Frame.Obj.AFTER_KEY, j + 1, 0))));
            if (p.required()) {
                break; // a required property cannot be skipped
            }
        }
    }

    private static boolean requiredFrom(Node.Obj node, int next) {
        for (int j = next; j < node.properties.size(); j++) {
            if (node.properties.get(j).required()) {
                return true;
            }
        }
        return false;
    }

    private static void array(Frame.Arr a, Stack s, int b, List<Stack> out) {
        Node.Arr node = a.node();
        if (whitespace(b)) {
            if (a.ws() < Frame.MAX_WHITESPACE) {
                out.add(s.with(new Frame.Arr(node, a.phase(), a.count(), a.ws() + 1, a.used())));
            }
            return;
        }
        int cap = node.cap();
        if (a.phase() == Frame.Arr.AFTER_VALUE) {
            if (b == ',' && (node.max() < 0 || a.count() < node.max())) {
                out.add(s.with(new Frame.Arr(node, Frame.Arr.AFTER_COMMA, a.count(), 0, a.used())));
            } else if (b == ']' && a.count() >= node.minItems) {
                out.add(s.below);
            }
            return;
        }
        if (a.phase() == Frame.Arr.AFTER_OPEN && b == ']') {
            if (node.minItems == 0) {
                out.add(s.below);
            }
            return;
        }
        if (node.max() == 0) {
            return;
        }
        int count = Math.min(a.count() + 1, cap);
        if (node.unique != null) { // a literal not yet written, and which one it is, known from its first byte
            for (int k = 0; k < node.unique.size(); k++) {
                if ((a.used() & 1L << k) == 0) {
                    Frame.Arr after = new Frame.Arr(node, Frame.Arr.AFTER_VALUE, count, 0, a.used() | 1L << k);
                    startValue(node.unique.get(k), s.with(after), b, out);
                }
            }
            return;
        }
        startValue(node.item(a.count()), s.with(new Frame.Arr(node, Frame.Arr.AFTER_VALUE, count, 0, 0)), b, out);
    }

    /** What the escapes after a backslash stand for, other than {@code u}: {@code "\\/bfnrt}. */
    private static final String ESCAPED = "\"\\/bfnrt";
    private static final String UNESCAPED = "\"\\/\b\f\n\r\t";

    private static void string(Frame.Str str, Stack s, int b, List<Stack> out) {
        Frame.Str syntax;
        boolean begun = false;
        int done = -1; // the code point this byte completes
        int partial = 0; // else the bits of the one under way
        if (str.escape()) {
            if (b == 'u') {
                syntax = Frame.Str.hex(4);
            } else if (ESCAPED.indexOf(b) >= 0) {
                syntax = Frame.Str.PLAIN;
                done = UNESCAPED.charAt(ESCAPED.indexOf(b));
            } else {
                return;
            }
        } else if (str.hex() > 0) {
            int digit = Character.digit(b, 16);
            boolean surrogate = str.hex() == 4 && digit == 0xD; // escapes of U+D000-U+DFFF, surrogates among them
            if (digit < 0 || surrogate && str.node().constrained()) {
                return;
            }
            syntax = Frame.Str.hex(str.hex() - 1);
            partial = str.cp() << 4 | digit;
            done = str.hex() == 1 ? partial : -1;
        } else if (str.cont() > 0) {
            if (b < str.lo() || b > str.hi()) {
                return;
            }
            syntax = Frame.Str.cont(str.cont() - 1);
            partial = str.cp() << 6 | b & 0x3F;
            done = str.cont() == 1 ? partial : -1;
        } else if (b == '"') {
            if (str.mayClose()) {
                out.add(s.below);
            }
            return;
        } else if (!str.roomForOne()) {
            return; // maxLength reached: only the closing quote
        } else {
            begun = true;
            if (b == '\\') {
                syntax = Frame.Str.ESCAPE;
            } else if (b >= 0x20 && b < 0x80) {
                syntax = Frame.Str.PLAIN;
                done = b;
            } else {
                syntax = Frame.Str.afterLead(b);
                if (syntax == null) {
                    return;
                }
                partial = Frame.Str.leadBits(b);
            }
        }
        Frame.Str next = str.next(syntax, begun, done, partial);
        if (next != null) {
            out.add(next == str ? s : s.with(next));
        }
    }

    /** A whole output matched by a pattern: each byte's UTF-8, and each character the pattern's. */
    private static void raw(Frame.Raw r, Stack s, int b, List<Stack> out) {
        StringPattern pattern = r.node().pattern;
        int cont;
        int partial;
        int lo = 0x80;
        int hi = 0xBF;
        if (r.cont() > 0) {
            if (b < r.lo() || b > r.hi()) {
                return;
            }
            cont = r.cont() - 1;
            partial = r.cp() << 6 | b & 0x3F;
        } else if (b < 0x80) {
            cont = 0;
            partial = b;
        } else {
            Frame.Str lead = Frame.Str.afterLead(b); // the same UTF-8 rules as inside a JSON string
            if (lead == null) {
                return;
            }
            cont = lead.cont();
            lo = lead.lo();
            hi = lead.hi();
            partial = Frame.Str.leadBits(b);
        }
        if (cont == 0) {
            int at = pattern.step(r.at(), partial);
            if (at >= 0) {
                out.add(s.with(new Frame.Raw(r.node(), at, 0, 0x80, 0xBF, 0)));
            }
        } else if (pattern.canComplete(r.at(), partial, cont, lo, hi)) {
            out.add(s.with(new Frame.Raw(r.node(), r.at(), cont, lo, hi, partial)));
        }
    }

    private static void number(Frame.Num n, Stack s, int b, List<Stack> out) {
        boolean digit = b >= '0' && b <= '9';
        NumberBounds bounds = n.node().bounds;
        boolean fraction = !n.node().integer;
        boolean exponent = fraction && bounds == null && (b == 'e' || b == 'E'); // bounded numbers have none
        int next = switch (n.state()) {
            case Frame.Num.SIGN -> b == '0' ? Frame.Num.ZERO : digit ? Frame.Num.INT : -1;
            case Frame.Num.ZERO -> fraction && b == '.' ? Frame.Num.DOT : exponent ? Frame.Num.EXP : -1;
            case Frame.Num.INT, Frame.Num.FRACTION -> digit && n.digits() < Frame.Num.MAX_DIGITS ? n.state()
                    : fraction && n.state() == Frame.Num.INT && b == '.' ? Frame.Num.DOT
                    : exponent ? Frame.Num.EXP : -1;
            case Frame.Num.DOT -> digit ? Frame.Num.FRACTION : -1;
            case Frame.Num.EXP -> b == '+' || b == '-' ? Frame.Num.EXP_SIGN : digit ? Frame.Num.EXP_DIGITS : -1;
            case Frame.Num.EXP_SIGN -> digit ? Frame.Num.EXP_DIGITS : -1;
            default -> digit && n.digits() < Frame.Num.MAX_EXP_DIGITS ? Frame.Num.EXP_DIGITS : -1; // EXP_DIGITS
        };
        if (next >= 0) {
            int digits = next == n.state() ? n.digits() + 1 : digit ? 1 : 0;
            String text = bounds == null ? null : n.text() + (char) b;
            if (text == null || bounds.reachable(text, next, n.node().integer)) {
                out.add(s.with(new Frame.Num(n.node(), next, digits, text)));
            }
        }
        if (n.mayEnd()) {
            step(s.below, b, out); // the number ends here; the byte belongs to what follows it
        }
    }

    private static void literal(Frame.Lit l, Stack s, int b, List<Stack> out) {
        if (b == (l.bytes()[l.pos()] & 0xff)) {
            out.add(l.pos() + 1 == l.bytes().length ? s.below : s.with(new Frame.Lit(l.bytes(), l.pos() + 1)));
        }
    }
}
