package io.flexiserve.structured;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A string schema's {@code pattern} (or a {@code format} written as one: {@link StringFormats}) as an automaton over
 * the string's characters (code points, as most validators outside JavaScript count them), for the matcher to step
 * one character at a time.
 *
 * <p>The regular expression, ECMA-262's syntax as JSON Schema specifies, is parsed into a tree (alternatives,
 * sequences, groups, character classes with ranges, negations and the {@code \d \w \s} escapes, {@code .}, and the
 * quantifiers {@code * + ? {n} {n,} {n,m}}, lazy or not: laziness does not change which strings match) and built
 * into a nondeterministic automaton (Thompson's construction, a bounded repetition as copies), whose sets of states
 * become, as the output reaches them, the states of a deterministic one ({@link #step}: found once, then kept).
 * A schema's pattern searches: a side without its anchor ({@code ^} before, {@code $} after) lets any characters
 * stand there ({@link #compile}); an output's regular expression matches whole ({@link #compileWhole}). What changes more than which characters may come (back-references, look-around, word boundaries, anchors
 * inside the pattern) is refused, as is an automaton of more than {@link #MAX_STATES} states.
 *
 * <p>Every state of the automaton leads to its end through characters that can be written (surrogates, which
 * cannot, are taken out of every class, and a class left empty is refused), so a string that follows it can always
 * be completed. Thread-safe: masks for one grammar may be computed on several threads.
 */
final class StringPattern {

    /** States the nondeterministic automaton may have. */
    static final int MAX_STATES = 4000;
    private static final int MAX_CODE_POINT = 0x10FFFF;
    /** Every code point that can be written in a JSON string: all but the surrogates. */
    private static final int[] ANY = {0, 0xD7FF, 0xE000, MAX_CODE_POINT};

    private final String source;
    // The nondeterministic automaton: per state, the code point ranges it consumes (pairs, sorted; null for a
    // state that consumes nothing), the state after them, and the states it reaches without a character.
    private final List<int[]> ranges = new ArrayList<>();
    private final List<Integer> next = new ArrayList<>();
    private final List<int[]> free = new ArrayList<>();
    private final int entry;
    private final int exit;
    // Where the code points are cut into classes that every range takes whole or not at all: class k is
    // [cuts[k], cuts[k + 1]).
    private final int[] cuts;
    // The deterministic automaton, built as it is reached: its states (sets of consuming states and, last, exit
    // when it is in the set), their ids, and the transitions found so far by class (-2: not yet).
    private final Map<Key, Integer> ids = new HashMap<>();
    private final List<int[]> sets = new ArrayList<>();
    private final List<int[]> moves = new ArrayList<>();

    private record Key(int[] states) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(k.states, states);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(states);
        }
    }

    /** Groups a pattern may nest: the parser and the construction recurse. */
    private static final int MAX_DEPTH = 100;

    private StringPattern(String source, Regex tree) {
        this.source = source;
        this.exit = add(null, -1, new int[0]);
        this.entry = build(tree, exit);
        TreeSet<Integer> at = new TreeSet<>(List.of(0));
        for (int[] r : ranges) {
            for (int k = 0; r != null && k < r.length; k += 2) {
                at.add(r[k]);
                at.add(r[k + 1] + 1);
            }
        }
        this.cuts = at.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * The automaton of {@code regex}.
     *
     * @throws IllegalArgumentException saying what in the pattern is not supported, or where it is malformed
     */
    static StringPattern compile(String regex) {
        return new StringPattern(regex, new Parser(regex, true).pattern());
    }

    /** The automaton of {@code regex} matched whole, as an output's regular expression is: anchored at both ends. */
    static StringPattern compileWhole(String regex) {
        return new StringPattern(regex, new Parser(regex, false).pattern());
    }

    /** Deterministic states one pattern may build: past them the output that needs another fails, alone. */
    static final int MAX_DETERMINIZED = 100_000;

    String source() {
        return source;
    }

    /** The state before any character. */
    synchronized int start() {
        return intern(closure(new int[] {entry}));
    }

    /** The state after {@code codePoint} from {@code state}, or -1 when the pattern cannot match any more. */
    synchronized int step(int state, int codePoint) {
        int[] known = moves.get(state);
        int k = Arrays.binarySearch(cuts, codePoint);
        int c = k >= 0 ? k : -k - 2; // the class: the last cut at or below the code point
        if (known[c] == -2) {
            List<Integer> targets = new ArrayList<>();
            for (int s : sets.get(state)) {
                if (s != exit && contains(ranges.get(s), codePoint)) {
                    targets.add(next.get(s));
                }
            }
            known[c] = targets.isEmpty() ? -1 : intern(closure(targets.stream().mapToInt(Integer::intValue).toArray()));
        }
        return known[c];
    }

    /** Whether some code point in {@code [from, to]} may come after {@code state}. */
    synchronized boolean anyIn(int state, int from, int to) {
        for (int s : sets.get(state)) {
            int[] r = ranges.get(s);
            for (int k = 0; r != null && k < r.length; k += 2) {
                if (r[k] <= to && r[k + 1] >= from) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Whether a UTF-8 character under way, {@code partial} its bits so far and {@code continuations} bytes still due
     * (the next in {@code [lo, hi]}, any after it), can still complete as one that may come after {@code state}.
     */
    boolean canComplete(int state, int partial, int continuations, int lo, int hi) {
        int below = 6 * (continuations - 1); // bits of the continuations after the next one
        int high = partial << 6 * continuations;
        return anyIn(state, high | (lo - 0x80) << below, high | (hi - 0x80) << below | (1 << below) - 1);
    }

    /** Whether the characters that led to {@code state} match the pattern: the string may close. */
    synchronized boolean matches(int state) {
        int[] set = sets.get(state);
        return set.length > 0 && set[set.length - 1] == exit;
    }

    private int intern(int[] set) {
        Key key = new Key(set);
        Integer known = ids.get(key);
        if (known != null) {
            return known;
        }
        if (sets.size() >= MAX_DETERMINIZED) { // an ambiguous repetition ([ab]*a[ab]{300}) can need 2^300
            throw new IllegalStateException("the pattern '" + source + "' needs more than " + MAX_DETERMINIZED
                    + " automaton states to follow");
        }
        sets.add(set);
        int[] row = new int[cuts.length];
        Arrays.fill(row, -2);
        moves.add(row);
        ids.put(key, sets.size() - 1);
        return sets.size() - 1;
    }

    /** The consuming states and the exit reached from {@code states} without a character, sorted, exit last. */
    private int[] closure(int[] states) {
        boolean[] seen = new boolean[ranges.size()];
        int[] stack = new int[ranges.size()];
        int top = 0;
        for (int s : states) {
            if (!seen[s]) {
                seen[s] = true;
                stack[top++] = s;
            }
        }
        while (top > 0) {
            for (int t : free.get(stack[--top])) {
                if (!seen[t]) {
                    seen[t] = true;
                    stack[top++] = t;
                }
            }
        }
        int[] out = new int[ranges.size()];
        int n = 0;
        for (int s = 0; s < seen.length; s++) {
            if (seen[s] && s != exit && ranges.get(s) != null) {
                out[n++] = s;
            }
        }
        if (seen[exit]) {
            out[n++] = exit;
        }
        return Arrays.copyOf(out, n);
    }

    private static boolean contains(int[] ranges, int c) {
        for (int i = 0; i < ranges.length; i += 2) {
            if (c < ranges[i]) {
                return false;
            }
            if (c <= ranges[i + 1]) {
                return true;
            }
        }
        return false;
    }

    private int add(int[] consumes, int after, int[] without) {
        if (ranges.size() >= MAX_STATES) {
            throw new IllegalArgumentException("the pattern needs an automaton of more than " + MAX_STATES
                    + " states (bounded repetitions are copied): write it with fewer or smaller bounds");
        }
        ranges.add(consumes);
        next.add(after);
        free.add(without);
        return ranges.size() - 1;
    }

    /** The entry of {@code tree}'s states, which end in {@code out} (built back to front). */
    private int build(Regex tree, int out) {
        if (tree instanceof Regex.Chars c) {
            return add(c.ranges(), out, new int[0]);
        }
        if (tree instanceof Regex.Seq seq) {
            int at = out;
            for (int i = seq.parts().size() - 1; i >= 0; i--) {
                at = build(seq.parts().get(i), at);
            }
            return at;
        }
        if (tree instanceof Regex.Alt alt) {
            int[] entries = new int[alt.options().size()];
            for (int i = 0; i < entries.length; i++) {
                entries[i] = build(alt.options().get(i), out);
            }
            return add(null, -1, entries);
        }
        Regex.Repeat r = (Regex.Repeat) tree;
        int at = out;
        if (r.max() < 0) {
            int loop = add(null, -1, new int[0]);
            free.set(loop, new int[] {build(r.item(), loop), out});
            at = loop;
        } else {
            for (int i = r.min(); i < r.max(); i++) {
                at = add(null, -1, new int[] {build(r.item(), at), at});
            }
        }
        for (int i = 0; i < r.min(); i++) {
            at = build(r.item(), at);
        }
        return at;
    }

    /** A parsed regular expression. */
    private sealed interface Regex {
        /** One character of these ranges (pairs of code points, sorted, disjoint). */
        record Chars(int[] ranges) implements Regex {
        }

        record Seq(List<Regex> parts) implements Regex {
        }

        record Alt(List<Regex> options) implements Regex {
        }

        /** {@code item} at least {@code min} and at most {@code max} times (-1: no bound). */
        record Repeat(Regex item, int min, int max) implements Regex {
        }
    }

    /** ECMA-262 regular expressions, the parts listed on {@link StringPattern}. */
    private static final class Parser {
        private static final Pattern BRACES = Pattern.compile("\\{(\\d+)(,(\\d*))?}");
        private static final int[] DIGIT = {'0', '9'};
        private static final int[] WORD = {'0', '9', 'A', 'Z', '_', '_', 'a', 'z'};
        private static final int[] SPACE = {'\t', '\r', ' ', ' ', 0xA0, 0xA0, 0x1680, 0x1680, 0x2000, 0x200A,
            0x2028, 0x2029, 0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000, 0xFEFF, 0xFEFF};
        private static final int[] NOT_LINE_END = {0, '\n' - 1, '\n' + 1, '\r' - 1, '\r' + 1, 0x2027, 0x202A,
            MAX_CODE_POINT};

        private final String s;
        private final boolean search;
        private int i;
        private int depth;

        /** With {@code search}, a side without its anchor lets any characters stand there; else it is anchored. */
        Parser(String s, boolean search) {
            this.s = s;
            this.search = search;
        }

        /** The whole pattern: each top-level alternative anchored where it says so, else open to any characters. */
        Regex pattern() {
            List<Regex> options = new ArrayList<>();
            do {
                boolean anchoredStart = eat('^') || !search;
                List<Regex> parts = new ArrayList<>();
                if (!anchoredStart) {
                    parts.add(anyText());
                }
                parts.add(sequence(true));
                if (eat('$')) {
                    if (i < s.length() && s.charAt(i) != '|') {
                        throw error("'$' is supported only at the end of the pattern or of a top-level alternative");
                    }
                } else if (search) {
                    parts.add(anyText());
                }
                options.add(new Regex.Seq(parts));
            } while (eat('|'));
            if (i < s.length()) {
                throw error("unmatched ')'");
            }
            return options.size() == 1 ? options.get(0) : new Regex.Alt(options);
        }

        private static Regex anyText() {
            return new Regex.Repeat(new Regex.Chars(ANY), 0, -1);
        }

        private Regex alternatives() {
            List<Regex> options = new ArrayList<>();
            do {
                options.add(sequence(false));
            } while (eat('|'));
            return options.size() == 1 ? options.get(0) : new Regex.Alt(options);
        }

        /** Terms up to '|', ')', the end, or (at the top level) a final '$'. */
        private Regex sequence(boolean top) {
            List<Regex> parts = new ArrayList<>();
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == '|' || c == ')') {
                    break;
                }
                if (c == '$' && top && (i + 1 == s.length() || s.charAt(i + 1) == '|')) {
                    break;
                }
                parts.add(quantified(atom()));
            }
            return parts.size() == 1 ? parts.get(0) : new Regex.Seq(parts);
        }

        private Regex quantified(Regex atom) {
            if (i >= s.length()) {
                return atom;
            }
            int min;
            int max;
            char c = s.charAt(i);
            if (c == '*' || c == '+' || c == '?') {
                i++;
                min = c == '+' ? 1 : 0;
                max = c == '?' ? 1 : -1;
            } else if (c == '{' && braces() != null) {
                int[] bounds = braces(); // {n}, {n,} or {n,m}; any other '{' is itself
                i = bounds[2];
                min = bounds[0];
                max = bounds[1];
            } else {
                return atom;
            }
            eat('?'); // lazy: the same strings match
            if (i < s.length() && "*+?".indexOf(s.charAt(i)) >= 0) {
                throw error("a quantifier after a quantifier");
            }
            return new Regex.Repeat(atom, min, max);
        }

        /** A repetition's bound: past {@link #MAX_STATES} copies no automaton is built anyway. */
        private int count(String digits) {
            if (digits.length() > 6 || Integer.parseInt(digits) > MAX_STATES) {
                throw error("a repetition bound of " + digits + " is more than the automaton's " + MAX_STATES + " states");
            }
            return Integer.parseInt(digits);
        }

        /** {@code {n}}, {@code {n,}} or {@code {n,m}} at {@code i}: min, max (-1: none), the index after; else null. */
        private int[] braces() {
            Matcher m = BRACES.matcher(s);
            if (!m.find(i) || m.start() != i) {
                return null;
            }
            int min = count(m.group(1));
            int max = m.group(2) == null ? min : m.group(3).isEmpty() ? -1 : count(m.group(3));
            if (max >= 0 && max < min) {
                throw error("{" + min + "," + max + "}: the bounds are out of order");
            }
            return new int[] {min, max, m.end()};
        }

        private Regex atom() {
            char c = s.charAt(i++);
            switch (c) {
                case '(' -> {
                    if (s.startsWith("?:", i)) {
                        i += 2;
                    } else if (s.startsWith("?<", i) && !s.startsWith("?<=", i) && !s.startsWith("?<!", i)) {
                        int close = s.indexOf('>', i);
                        if (close < 0) {
                            throw error("an unterminated group name");
                        }
                        i = close + 1; // a named group: only a group here
                    } else if (i < s.length() && s.charAt(i) == '?') {
                        throw error("look-around assertions are not supported");
                    }
                    if (++depth > MAX_DEPTH) {
                        throw error("groups nest more than " + MAX_DEPTH + " deep");
                    }
                    Regex inner = alternatives();
                    depth--;
                    if (!eat(')')) {
                        throw error("a '(' without its ')'");
                    }
                    return inner;
                }
                case '[' -> {
                    return chars(charClass());
                }
                case '.' -> {
                    return chars(NOT_LINE_END);
                }
                case '\\' -> {
                    return chars(escape(false));
                }
                case '*', '+', '?' -> throw error("'" + c + "' has nothing to repeat");
                case '^', '$' -> throw error("'" + c + "' is supported only at the start or end of the pattern or of"
                        + " a top-level alternative");
                case '{' -> {
                    if (braces() != null) {
                        throw error("a quantifier has nothing to repeat");
                    }
                    return chars(new int[] {c, c});
                }
                default -> {
                    int cp = s.codePointAt(i - 1);
                    i += Character.charCount(cp) - 1;
                    return chars(new int[] {cp, cp});
                }
            }
        }

        /** A class after its '[': its ranges, negated when it opens with '^'. */
        private int[] charClass() {
            boolean negated = eat('^');
            List<int[]> parts = new ArrayList<>();
            boolean first = true;
            while (true) {
                if (i >= s.length()) {
                    throw error("a '[' without its ']'");
                }
                if (s.charAt(i) == ']' && !first) {
                    i++;
                    break;
                }
                first = false;
                if (s.charAt(i) == ']') { // "[]" matches nothing in ECMA-262; "[^]" anything
                    i++;
                    return negated ? ANY : new int[0];
                }
                int[] lo = classAtom();
                if (lo.length == 2 && lo[0] == lo[1] && i + 1 < s.length() && s.charAt(i) == '-' && s.charAt(i + 1) != ']') {
                    i++;
                    int[] hi = classAtom();
                    if (hi.length != 2 || hi[0] != hi[1]) {
                        throw error("a range must end with one character");
                    }
                    if (hi[0] < lo[0]) {
                        throw error("a range out of order");
                    }
                    parts.add(new int[] {lo[0], hi[0]});
                } else {
                    parts.add(lo);
                }
            }
            int[] union = union(parts);
            return negated ? complement(union) : union;
        }

        private int[] classAtom() {
            char c = s.charAt(i++);
            if (c == '\\') {
                return escape(true);
            }
            int cp = s.codePointAt(i - 1);
            i += Character.charCount(cp) - 1;
            return new int[] {cp, cp};
        }

        /** An escape after its backslash, as ranges. */
        private int[] escape(boolean inClass) {
            if (i >= s.length()) {
                throw error("a '\\' at the end");
            }
            char c = s.charAt(i++);
            return switch (c) {
                case 'd' -> DIGIT;
                case 'D' -> complement(DIGIT);
                case 'w' -> WORD;
                case 'W' -> complement(WORD);
                case 's' -> SPACE;
                case 'S' -> complement(SPACE);
                case 'n' -> single('\n');
                case 'r' -> single('\r');
                case 't' -> single('\t');
                case 'v' -> single(0x0B);
                case 'f' -> single('\f');
                case '0' -> {
                    if (i < s.length() && Character.isDigit(s.charAt(i))) {
                        throw error("octal escapes are not supported; write \\x or \\u");
                    }
                    yield single(0);
                }
                case 'b' -> {
                    if (!inClass) {
                        throw error("word boundaries ('\\b') are not supported");
                    }
                    yield single(0x08);
                }
                case 'x' -> single(hex(2));
                case 'u' -> single(hex(4));
                case 'c' -> {
                    if (i < s.length() && (s.charAt(i) | 0x20) >= 'a' && (s.charAt(i) | 0x20) <= 'z') {
                        yield single(s.charAt(i++) % 32);
                    }
                    throw error("'\\c' needs a letter");
                }
                case 'B' -> throw error("word boundaries ('\\B') are not supported");
                case 'k' -> throw error("back-references are not supported");
                case 'p', 'P' -> throw error("Unicode property escapes are not supported");
                default -> {
                    if (c >= '1' && c <= '9') {
                        throw error("back-references are not supported");
                    }
                    if (Character.isLetterOrDigit(c)) {
                        throw error("the escape '\\" + c + "' is not supported");
                    }
                    yield single(c); // an escaped punctuation character is itself
                }
            };
        }

        private int hex(int digits) {
            if (i + digits > s.length()) {
                throw error("a hexadecimal escape needs " + digits + " digits");
            }
            String hex = s.substring(i, i + digits);
            if (!hex.chars().allMatch(c -> Character.digit(c, 16) >= 0 && c < 0x80)) {
                throw error("a hexadecimal escape needs " + digits + " digits");
            }
            i += digits;
            return Integer.parseInt(hex, 16);
        }

        private static int[] single(int c) {
            return new int[] {c, c};
        }

        /** A class of {@code ranges} less the surrogates, refused when that leaves nothing to write. */
        private Regex chars(int[] ranges) {
            int[] writable = intersect(ranges, ANY);
            if (writable.length == 0) {
                throw error("a part matches no character that can be written in a JSON string");
            }
            return new Regex.Chars(writable);
        }

        private boolean eat(char c) {
            if (i < s.length() && s.charAt(i) == c) {
                i++;
                return true;
            }
            return false;
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException(what + " (at index " + Math.max(0, i - 1) + " of '" + s + "')");
        }
    }

    /** The union of range lists, sorted and merged. */
    static int[] union(List<int[]> parts) {
        List<int[]> pairs = new ArrayList<>();
        for (int[] p : parts) {
            for (int k = 0; k < p.length; k += 2) {
                pairs.add(new int[] {p[k], p[k + 1]});
            }
        }
        pairs.sort((a, b) -> Integer.compare(a[0], b[0]));
        int[] out = new int[2 * pairs.size()];
        int n = 0;
        for (int[] p : pairs) {
            if (n > 0 && p[0] <= out[n - 1] + 1) {
                out[n - 1] = Math.max(out[n - 1], p[1]);
            } else {
                out[n++] = p[0];
                out[n++] = p[1];
            }
        }
        return Arrays.copyOf(out, n);
    }

    /** Every code point not in {@code ranges}. */
    static int[] complement(int[] ranges) {
        List<Integer> out = new ArrayList<>();
        int from = 0;
        for (int k = 0; k < ranges.length; k += 2) {
            if (ranges[k] > from) {
                out.add(from);
                out.add(ranges[k] - 1);
            }
            from = ranges[k + 1] + 1;
        }
        if (from <= MAX_CODE_POINT) {
            out.add(from);
            out.add(MAX_CODE_POINT);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int[] intersect(int[] a, int[] b) {
        return complement(union(List.of(complement(a), complement(b))));
    }
}
