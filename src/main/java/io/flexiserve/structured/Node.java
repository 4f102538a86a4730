package io.flexiserve.structured;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What one JSON value may be, as {@link SchemaCompiler} compiles a schema: the grammar the {@link Matcher} walks.
 * Nodes compare by identity (a recursive schema is a graph), and a compiled graph is never changed once built.
 */
abstract sealed class Node permits Node.AnyOf, Node.Obj, Node.Arr, Node.Str, Node.Num, Node.Literal, Node.Ref,
        Node.Text, Node.Raw {

    /** Any one of the options. Its list is filled after construction when an option refers back to it. */
    static final class AnyOf extends Node {
        final List<Node> options = new ArrayList<>();

        AnyOf(List<Node> options) {
            this.options.addAll(options);
        }
    }

    /**
     * An object whose keys are {@code properties} in their declared order (each optional one may be left out, a
     * required one may not), or, when there are none and {@code additional} is set, any keys with values of
     * {@code additional} (a map). With neither, only {@code {}}.
     */
    static final class Obj extends Node {
        final List<Property> properties;
        final Node additional;

        Obj(List<Property> properties, Node additional) {
            this.properties = List.copyOf(properties);
            this.additional = properties.isEmpty() ? additional : null;
        }

        boolean map() {
            return additional != null;
        }
    }

    /**
     * One declared key: its name as the bytes that follow the opening quote in JSON (escaped, closing quote
     * included), and its value.
     */
    record Property(String name, byte[] keyTail, Node value, boolean required) {

        static Property of(String name, Node value, boolean required) {
            String quoted = Literal.json(name);
            return new Property(name, quoted.substring(1).getBytes(StandardCharsets.UTF_8), value, required);
        }
    }

    /**
     * An array whose first items are {@code prefix}'s, one each in order (a tuple: {@code prefixItems}), and whose
     * further items are {@code items} (null: none may follow the prefix), with at least {@code minItems} and at most
     * {@code maxItems} (-1: no bound; never more than the prefix when nothing may follow it).
     */
    static final class Arr extends Node {
        final List<Node> prefix;
        final Node items;
        final int minItems;
        final int maxItems;

        Arr(Node items, int minItems, int maxItems) {
            this(List.of(), items, minItems, maxItems);
        }

        Arr(List<Node> prefix, Node items, int minItems, int maxItems) {
            this.prefix = List.copyOf(prefix);
            this.items = items;
            this.minItems = minItems;
            this.maxItems = items != null ? maxItems : maxItems < 0 ? prefix.size() : Math.min(maxItems, prefix.size());
        }

        /**
         * With {@code uniqueItems}: the items' distinct literals (at most 64), each written once at most; else null.
         * Set once references are resolved (the items may be a reference to an enum).
         */
        List<Literal> unique;

        /** What item {@code i} (from 0) may be. */
        Node item(int i) {
            return i < prefix.size() ? prefix.get(i) : items;
        }

        /** The most items: {@code maxItems}, and with unique items no more than there are literals (-1: no bound). */
        int max() {
            return unique == null ? maxItems : maxItems < 0 ? unique.size() : Math.min(maxItems, unique.size());
        }

        /** The count past which items are not told apart: only the bounds and the prefix matter. */
        int cap() {
            return Math.max(Math.max(minItems, max()), prefix.size());
        }
    }

    /**
     * A JSON string of at least {@code minLength} and at most {@code maxLength} characters (-1: no bound), or one
     * that {@code pattern} matches (null: none), its characters counted as JSON Schema counts them, in code points:
     * a character written as UTF-8 or as an escape is one. A constrained string writes no {@code \}{@code u} escape
     * of a surrogate (a pair would be two characters), so none of its escapes opens with {@code d}: those characters
     * are written as UTF-8.
     */
    static final class Str extends Node {
        static final Str ANY = new Str(0, -1, null);
        final int minLength;
        final int maxLength;
        final StringPattern pattern;

        Str(int minLength, int maxLength, StringPattern pattern) {
            this.minLength = minLength;
            this.maxLength = maxLength;
            this.pattern = pattern;
        }

        /** Whether the string has bounds or a pattern: its frames count its characters or follow the pattern. */
        boolean constrained() {
            return this != ANY;
        }

        /** The count past which only the bounds matter: characters beyond it are not told apart. */
        int cap() {
            return Math.max(minLength, maxLength);
        }
    }

    /**
     * A JSON number, or with {@code integer} one without fraction or exponent; with {@code bounds}, one within them
     * and written without an exponent.
     */
    static final class Num extends Node {
        static final Num NUMBER = new Num(false, null);
        static final Num INTEGER = new Num(true, null);
        final boolean integer;
        final NumberBounds bounds;

        Num(boolean integer, NumberBounds bounds) {
            this.integer = integer;
            this.bounds = bounds;
        }
    }

    /** Exactly these bytes: {@code true}, {@code false}, {@code null}, or a {@code const}/{@code enum} value. */
    static final class Literal extends Node {
        static final Literal TRUE = new Literal("true");
        static final Literal FALSE = new Literal("false");
        static final Literal NULL = new Literal("null");
        final byte[] bytes;

        Literal(String json) {
            this.bytes = json.getBytes(StandardCharsets.UTF_8);
        }

        /** The value as the JSON text it is written as. */
        String text() {
            return new String(bytes, StandardCharsets.UTF_8);
        }

        /** A string as compact JSON. */
        static String json(String s) {
            StringBuilder sb = new StringBuilder("\"");
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    case '\b' -> sb.append("\\b");
                    case '\f' -> sb.append("\\f");
                    default -> {
                        if (c < 0x20) {
                            sb.append(String.format("\\u%04x", (int) c));
                        } else {
                            sb.append(c);
                        }
                    }
                }
            }
            return sb.append('"').toString();
        }
    }

    /** A {@code $ref}, resolved once the whole schema is compiled (it may point at a node that contains it). */
    static final class Ref extends Node {
        final String ref;
        Node target;

        Ref(String ref) {
            this.ref = ref;
        }

        Node resolved() {
            Node n = this;
            while (n instanceof Ref r) {
                n = r.target;
            }
            return n;
        }
    }

    /** Free text that does not open with the character tool calls open with (the answer side of {@code tool_choice: auto}). */
    static final class Text extends Node {
        final int notFirst;

        private Text(int notFirst) {
            this.notFirst = notFirst;
        }

        /** An answer beside calls of {@code format}. */
        static Text answerBeside(ToolFormat format) {
            return new Text(format.opener());
        }
    }

    /**
     * A whole output that {@code pattern} matches, as plain text (no JSON): vLLM's {@code structured_outputs} regex
     * and choice. Only ever the root.
     */
    static final class Raw extends Node {
        final StringPattern pattern;

        Raw(StringPattern pattern) {
            this.pattern = pattern;
        }
    }

    /** The parts of the grammar from {@code root}: its nodes, an object's properties and an enum's values each one. */
    static int size(Node root) {
        java.util.Set<Node> parts = reachable(root);
        return parts.size() + parts.stream().mapToInt(n -> n instanceof Obj obj ? obj.properties.size() : 0).sum();
    }

    /** Every node a value of {@code root} may pass through (references resolved), {@code root} first. */
    static java.util.Set<Node> reachable(Node root) {
        java.util.Set<Node> seen = new java.util.LinkedHashSet<>(); // nodes compare by identity
        java.util.ArrayDeque<Node> todo = new java.util.ArrayDeque<>(List.of(root));
        while (!todo.isEmpty()) {
            Node n = todo.pop();
            if (!seen.add(n)) {
                continue;
            }
            if (n instanceof AnyOf any) {
                todo.addAll(any.options);
            } else if (n instanceof Ref ref) {
                todo.add(ref.target);
            } else if (n instanceof Arr arr) {
                todo.addAll(arr.prefix);
                if (arr.items != null) {
                    todo.add(arr.items);
                }
            } else if (n instanceof Obj obj) {
                obj.properties.forEach(p -> todo.add(p.value()));
                if (obj.additional != null) {
                    todo.add(obj.additional);
                }
            }
        }
        return seen;
    }

    /** Any JSON value: objects of any keys and arrays of any items, recursively. */
    static Node anyValue() {
        AnyOf any = new AnyOf(List.of());
        any.options.addAll(List.of(new Obj(List.of(), any), new Arr(any, 0, -1), Str.ANY, Num.NUMBER,
                Literal.TRUE, Literal.FALSE, Literal.NULL));
        return any;
    }
}
