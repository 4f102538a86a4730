package io.flexiserve.structured;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A compiled output format over one tokenizer's vocabulary: the grammar's root and the masks computed so far, by
 * matcher state. Outputs revisit few states (a string's characters all leave the matcher where it was), so after
 * the first steps most masks are found here instead of walked. Shared by every request with the same format.
 */
public final class Grammar {

    private static final int CACHED_MASKS = 256;

    private final Node root;
    private final TokenVocabulary vocabulary;
    private final Map<State, long[]> masks = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<State, long[]> eldest) {
            return size() > CACHED_MASKS;
        }
    };

    private Grammar(Node root, TokenVocabulary vocabulary) {
        this.root = root;
        this.vocabulary = vocabulary;
    }

    /** Values valid against {@code schema}; a {@link SchemaException} says what cannot be compiled. */
    public static Grammar jsonSchema(JsonNode schema, TokenVocabulary vocabulary) {
        return new Grammar(SchemaCompiler.compile(schema), vocabulary);
    }

    /**
     * Outputs that {@code regex} (ECMA-262 syntax, as a schema's pattern) matches whole: vLLM's
     * {@code structured_outputs.regex}. A {@link SchemaException} says what cannot be compiled.
     */
    public static Grammar regex(String regex, TokenVocabulary vocabulary) {
        try {
            return new Grammar(new Node.Raw(StringPattern.compileWhole(regex)), vocabulary);
        } catch (IllegalArgumentException e) {
            throw new SchemaException("#", "regex", e.getMessage());
        }
    }

    /** Outputs that are exactly one of {@code choices}, as written: vLLM's {@code structured_outputs.choice}. */
    public static Grammar choice(List<String> choices, TokenVocabulary vocabulary) {
        if (choices.isEmpty()) {
            throw new SchemaException("#", "choice", "give at least one choice");
        }
        StringBuilder regex = new StringBuilder();
        for (int i = 0; i < choices.size(); i++) {
            String choice = choices.get(i);
            regex.append(i == 0 ? "" : "|");
            choice.codePoints().forEach(c -> {
                if (c < 0x80 && !Character.isLetterOrDigit(c) && c >= 0x20) {
                    regex.append('\\'); // a punctuation character escaped is itself
                }
                regex.appendCodePoint(c);
            });
        }
        return regex(regex.toString(), vocabulary);
    }

    /** Any JSON object ({@code response_format: json_object}). */
    public static Grammar jsonObject(TokenVocabulary vocabulary) {
        Node any = Node.anyValue();
        return new Grammar(((Node.AnyOf) any).options.get(0), vocabulary);
    }

    /**
     * Tool calls in {@code format} whose arguments match the named function's parameters: as a JSON array of
     * {@code {"name": ..., "arguments": {...}}}, at least one call and at most one unless {@code parallel}; as the
     * template's JSON, one {@code {"name": ..., "parameters": {...}}}. With {@code answer} (tool choice
     * {@code auto}) the output may instead be that answer: free text that does not open as calls do when
     * {@code answerSchema} is null, else a value of that schema.
     */
    public static Grammar toolCalls(List<ToolFunction> functions, boolean parallel, boolean answer, JsonNode answerSchema,
                                    ToolFormat format, TokenVocabulary vocabulary) {
        List<Node> calls = new ArrayList<>();
        for (ToolFunction f : functions) {
            Node arguments;
            try {
                arguments = f.parameters() == null ? new Node.Obj(List.of(), null) : SchemaCompiler.compile(f.parameters());
                if (!opensWith(arguments, '{', new HashSet<>(), true)) {
                    throw new SchemaException("#", "type", "the arguments must be an object");
                }
            } catch (SchemaException e) {
                throw e.in("the parameters of function '" + f.name() + "'");
            }
            calls.add(new Node.Obj(List.of(Node.Property.of("name", new Node.Literal(Node.Literal.json(f.name())), true),
                    Node.Property.of(format.argumentsKey(), arguments, true)), null));
        }
        Node call = calls.size() == 1 ? calls.get(0) : new Node.AnyOf(calls);
        Node reply = format == ToolFormat.ARRAY ? new Node.Arr(call, 1, parallel ? -1 : 1) : call;
        if (!answer) {
            return new Grammar(reply, vocabulary);
        }
        Node other = answerSchema == null ? Node.Text.answerBeside(format) : SchemaCompiler.compile(answerSchema);
        if (answerSchema != null && opensWith(other, format.opener(), new HashSet<>(), false)) {
            throw new SchemaException("#", "type", "with tool_choice auto a reply opening with '" + format.opener()
                    + "' is a tool call, so the response format cannot be " + (format == ToolFormat.ARRAY ? "an array"
                    : "an object with this model's chat template"));
        }
        return new Grammar(new Node.AnyOf(List.of(reply, other)), vocabulary);
    }

    /**
     * With {@code all}, whether every value of {@code node} opens with {@code c}; without, whether some value may.
     * References are followed once ({@code seen}).
     */
    private static boolean opensWith(Node node, char c, Set<Node> seen, boolean all) {
        if (!seen.add(node)) {
            return all;
        }
        if (node instanceof Node.Ref ref) {
            return opensWith(ref.resolved(), c, seen, all);
        }
        if (node instanceof Node.AnyOf any) {
            for (Node option : any.options) {
                if (opensWith(option, c, seen, all) != all) {
                    return !all;
                }
            }
            return all;
        }
        return c == '{' ? node instanceof Node.Obj : c == '[' && node instanceof Node.Arr;
    }

    /** A matcher at the start of an output; {@code endIds} are the tokens that end it (allowed once it is complete). */
    public Matcher matcher(int[] endIds) {
        return new Matcher(this, State.start(root), endIds);
    }

    /**
     * Whether the output is plain text that a regular expression or a choice constrains (no JSON value): stop
     * strings apply there, as vLLM applies them, while a JSON value is never cut short.
     */
    public boolean plainText() {
        return root instanceof Node.Raw;
    }

    TokenVocabulary vocabulary() {
        return vocabulary;
    }

    long[] mask(State state) {
        synchronized (masks) {
            long[] mask = masks.get(state);
            if (mask != null) {
                return mask;
            }
        }
        long[] mask = vocabulary.allowed(state);
        synchronized (masks) {
            masks.put(state, mask);
        }
        return mask;
    }
}
