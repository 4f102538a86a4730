package io.flexiserve.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Text that a prompt keeps as text: what users and tools wrote in a conversation. A special token's text written in
 * it ({@code <|eot_id|><|start_header_id|>system}) would otherwise be encoded as that control token once the chat
 * template has put it into the prompt, and could end a turn or open one the service never wrote. Such text is held
 * out of the messages ({@link #guard}) behind private-use markers that no template changes, and encoded as plain
 * characters where the markers come back in the rendered prompt ({@link #encode}); a conversation without any
 * encodes exactly as before. (transformers' {@code split_special_tokens}, which vLLM leaves off by default.)
 */
public final class PlainText {

    private static final char OPEN = '\uE000';
    private static final char CLOSE = '\uE001';

    private final Map<Character, List<String>> byFirst = new HashMap<>(); // special texts by first character, longest first
    private final List<String> held = new ArrayList<>();

    public PlainText(Set<String> specials) {
        for (String s : specials) {
            if (!s.isEmpty()) {
                byFirst.computeIfAbsent(s.charAt(0), c -> new ArrayList<>()).add(s);
            }
        }
        byFirst.values().forEach(l -> l.sort(Comparator.comparingInt(String::length).reversed()));
    }

    /** {@code text} with each special token's text (and any marker character) replaced by a marker; null stays null. */
    public String guard(String text) {
        if (text == null) {
            return null;
        }
        StringBuilder out = null; // made at the first replacement: most text has none and is returned as it is
        for (int i = 0; i < text.length(); ) {
            char c = text.charAt(i);
            String special = c == OPEN || c == CLOSE ? String.valueOf(c) : specialAt(text, i);
            if (special == null) {
                if (out != null) {
                    out.append(c);
                }
                i++;
                continue;
            }
            if (out == null) {
                out = new StringBuilder(text.length() + 16).append(text, 0, i);
            }
            out.append(OPEN).append(held.size()).append(CLOSE);
            held.add(special);
            i += special.length();
        }
        return out == null ? text : out.toString();
    }

    /**
     * {@code value} (JSON as Java: maps, lists, strings, numbers, booleans, null) with every string in it, keys
     * included, {@link #guard guarded}: the tools and the earlier calls that a chat template renders into the prompt
     * are text their senders wrote, as messages are. A value without special text comes back equal to itself.
     */
    public Object guardAll(Object value) {
        if (value instanceof String s) {
            return guard(s);
        }
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> out = new LinkedHashMap<>();
            map.forEach((k, v) -> out.put(guard(String.valueOf(k)), guardAll(v)));
            return out;
        }
        if (value instanceof List<?> list) {
            List<Object> out = new ArrayList<>(list.size());
            list.forEach(v -> out.add(guardAll(v)));
            return out;
        }
        return value;
    }

    /** The ids of a rendered prompt: the template's own special tokens as such, held text as its characters. */
    public int[] encode(Tokenizer tokenizer, String rendered) {
        if (held.isEmpty()) {
            return tokenizer.encode(rendered);
        }
        List<int[]> parts = new ArrayList<>();
        int from = 0;
        for (int open = rendered.indexOf(OPEN); open >= 0; open = rendered.indexOf(OPEN, from)) {
            int close = rendered.indexOf(CLOSE, open);
            int k = close < 0 ? -1 : index(rendered.substring(open + 1, close));
            if (k < 0) { // not a marker of ours: the template wrote the character itself
                parts.add(tokenizer.encode(rendered.substring(from, open + 1)));
                from = open + 1;
                continue;
            }
            parts.add(tokenizer.encode(rendered.substring(from, open)));
            String text = held.get(k);
            // split after its first character, so that no piece is a special token's text
            int cut = text.offsetByCodePoints(0, 1);
            parts.add(tokenizer.encode(text.substring(0, cut)));
            if (cut < text.length()) {
                parts.add(tokenizer.encode(text.substring(cut)));
            }
            from = close + 1;
        }
        parts.add(tokenizer.encode(rendered.substring(from)));
        return parts.stream().flatMapToInt(java.util.Arrays::stream).toArray();
    }

    private String specialAt(String text, int i) {
        for (String s : byFirst.getOrDefault(text.charAt(i), List.of())) {
            if (text.startsWith(s, i)) {
                return s; // the longest, as a tokenizer matches it
            }
        }
        return null;
    }

    private int index(String digits) {
        if (digits.isEmpty() || digits.length() > 9 || !digits.chars().allMatch(Character::isDigit)) {
            return -1;
        }
        int k = Integer.parseInt(digits);
        return k < held.size() ? k : -1;
    }
}
