package io.flexiserve.structured;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Compiles a JSON Schema into the {@link Node} graph the matcher walks: {@code type} and type arrays, objects with
 * {@code properties}, {@code required} and {@code additionalProperties}, arrays with {@code items} or a tuple
 * ({@code prefixItems}, or draft 7's {@code items} array and {@code additionalItems}), {@code minItems} and
 * {@code maxItems}, strings with {@code minLength} and {@code maxLength} or a {@code pattern} or a {@code format}
 * ({@link StringPattern}, {@link StringFormats}), numbers with {@code minimum}, {@code maximum},
 * {@code exclusiveMinimum}, {@code exclusiveMaximum} and {@code multipleOf} ({@link NumberBounds}), {@code enum},
 * {@code const}, {@code anyOf}, {@code oneOf} whose options exclude each other ({@link OneOf}), {@code allOf} of
 * one schema, {@code $defs} and local {@code $ref}, recursion included. A keyword that would constrain the value in
 * a way the grammar does not enforce ({@code uniqueItems} over items other than literals, {@code minProperties},
 * {@code not}, ...) is refused with its path, never ignored.
 *
 * <p>Objects are written with their declared properties in declared order (what a strict schema describes; keys
 * that {@code additionalProperties} would allow beside declared ones are never generated, which always validates).
 */
final class SchemaCompiler {

    /** Keywords that only annotate: they never make a value invalid. */
    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "default", "examples", "$comment",
            "$schema", "$id", "deprecated", "readOnly", "writeOnly", "strict", "$anchor", "discriminator");
    private static final List<String> STRING_KEYWORDS = List.of("minLength", "maxLength", "pattern", "format");
    private static final List<String> NUMBER_KEYWORDS = List.of("minimum", "maximum", "exclusiveMinimum",
            "exclusiveMaximum", "multipleOf");
    /** Keywords that constrain one kind of value: beside a list of values or options they are refused. */
    private static final List<String> KIND_KEYWORDS = Stream.of(List.of("properties", "required",
            "additionalProperties", "items", "prefixItems", "additionalItems", "uniqueItems", "minItems", "maxItems"),
            STRING_KEYWORDS, NUMBER_KEYWORDS).flatMap(List::stream).toList();
    /** Every keyword compiled: those of one kind, and those that choose among values or schemas. */
    private static final Set<String> HANDLED = Stream.concat(KIND_KEYWORDS.stream(), Stream.of("type", "enum", "const",
            "anyOf", "oneOf", "allOf", "$defs", "definitions", "$ref")).collect(Collectors.toUnmodifiableSet());
    private static final ObjectMapper JSON = new ObjectMapper();

    private final JsonNode root;
    private final Map<String, Node> compiled = new HashMap<>();
    private final List<Node.Ref> refs = new ArrayList<>();
    private final List<OneOfAt> oneOfs = new ArrayList<>();
    private final List<UniqueAt> uniques = new ArrayList<>();

    /** An array with {@code uniqueItems} and where it is, given its literals once references are resolved. */
    private record UniqueAt(Node.Arr arr, String path) {
    }

    /** A {@code oneOf}'s compiled options and where it is, checked for exclusion ({@link OneOf}) after compiling. */
    private record OneOfAt(List<Node> options, String path) {
    }

    private SchemaCompiler(JsonNode root) {
        this.root = root;
    }

    /** The grammar of values valid against {@code schema}; a {@link SchemaException} names what cannot be compiled. */
    static Node compile(JsonNode schema) {
        SchemaCompiler compiler = new SchemaCompiler(schema);
        Node node = compiler.node(schema, "#");
        compiler.compiled.put("#", node);
        for (int i = 0; i < compiler.refs.size(); i++) { // resolving compiles targets, which may hold more references
            Node.Ref ref = compiler.refs.get(i);
            ref.target = compiler.resolve(ref.ref);
        }
        Set<Node> done = new HashSet<>();
        for (Node.Ref ref : compiler.refs) {
            checkNoEmptyCycle(ref, new HashSet<>(), done, ref.ref);
        }
        for (UniqueAt u : compiler.uniques) {
            u.arr.unique = uniqueLiterals(u.arr, u.path);
        }
        for (OneOfAt oneOf : compiler.oneOfs) {
            if (!OneOf.exclusive(oneOf.options)) { // a value of two options would be invalid: only anyOf can say so
                throw new SchemaException(oneOf.path, "oneOf", "'oneOf' whose options may overlap is not supported:"
                        + " make them exclude each other (a required property with a different const in each, as a"
                        + " discriminated union has) or use 'anyOf'");
            }
        }
        checkEveryPartCanEnd(node);
        return node;
    }

    /**
     * The literals an array with {@code uniqueItems} writes each once at most: its items must be a list of at most 64
     * literals (an enum, booleans), no two the same value; any other items could repeat in ways the grammar does not
     * follow. More {@code minItems} than literals is refused.
     */
    private static List<Node.Literal> uniqueLiterals(Node.Arr arr, String path) {
        Node items = arr.items instanceof Node.Ref ref ? ref.resolved() : arr.items;
        List<Node> options = items instanceof Node.AnyOf any ? any.options : List.of(items);
        List<Node.Literal> literals = new ArrayList<>();
        for (Node o : options) {
            if (!(o instanceof Node.Literal literal)) {
                throw new SchemaException(path, "uniqueItems", "'uniqueItems' is supported over items that are a list"
                        + " of literals (an enum, booleans) only");
            }
            literals.add(literal);
        }
        if (literals.size() > 64 || !OneOf.exclusive(List.copyOf(literals))) {
            throw new SchemaException(path, "uniqueItems", "'uniqueItems' is supported over at most 64 distinct literals");
        }
        if (arr.minItems > literals.size()) {
            throw new SchemaException(path, "minItems", "'minItems' " + arr.minItems + " is more than the "
                    + literals.size() + " distinct items 'uniqueItems' allows");
        }
        return List.copyOf(literals);
    }

    /**
     * Refuses a schema with a part no finite value satisfies (an object whose required property, or an array whose
     * first items, lead back to it): an output that entered it could never end, and the end token would stay
     * masked until max_tokens. A part can end when it is a string, number or literal, an object whose required
     * properties can, a map, an array that may be empty or whose items can, an option that can, or a reference to
     * one; found by iterating to the fixpoint over every reachable part.
     */
    private static void checkEveryPartCanEnd(Node root) {
        Set<Node> all = Node.reachable(root);
        Set<Node> ends = new HashSet<>();
        for (boolean grew = true; grew; ) {
            grew = false;
            for (Node n : all) {
                if (!ends.contains(n) && canEnd(n, ends)) {
                    ends.add(n);
                    grew = true;
                }
            }
        }
        if (ends.size() < all.size()) {
            throw new SchemaException("#", "$ref", "a part of the schema has no finite value: a required property"
                    + " or minItems leads back to the object or array that holds it, so an output could never end");
        }
    }

    private static boolean canEnd(Node n, Set<Node> ends) {
        if (n instanceof Node.AnyOf any) {
            return any.options.stream().anyMatch(ends::contains);
        } else if (n instanceof Node.Ref ref) {
            return ends.contains(ref.target);
        } else if (n instanceof Node.Arr arr) {
            for (int i = 0; i < arr.minItems; i++) {
                if (!ends.contains(arr.item(i))) {
                    return false;
                }
            }
            return true;
        } else if (n instanceof Node.Obj obj) {
            return obj.map() || obj.properties.stream().allMatch(p -> !p.required() || ends.contains(p.value()));
        }
        return true; // strings, numbers, literals, free text
    }

    private Node node(JsonNode s, String path) {
        if (s.isBoolean()) {
            if (!s.asBoolean()) {
                throw new SchemaException(path, "false", "a schema of false allows no value");
            }
            return Node.anyValue();
        }
        if (!s.isObject()) {
            throw new SchemaException(path, "", "a schema must be an object or a boolean");
        }
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String keyword = it.next();
            if (!ANNOTATIONS.contains(keyword) && !HANDLED.contains(keyword)) {
                throw new SchemaException(path, keyword, "'" + keyword + "' is not supported in structured outputs");
            }
        }
        if (s.has("allOf")) { // Pydantic 1 wraps a described reference so: {"allOf": [{"$ref": ...}], "description": ...}
            JsonNode all = s.get("allOf");
            if (!all.isArray() || all.size() != 1 || hasOtherConstraints(s, "allOf")) {
                throw new SchemaException(path, "allOf", "'allOf' is supported with one schema and nothing constraining"
                        + " beside it; merge the schemas into one");
            }
            return node(all.get(0), path + "/allOf/0");
        }
        if (s.has("$ref")) {
            if (s.size() > 1 && hasOtherConstraints(s, "$ref")) {
                throw new SchemaException(path, "$ref", "'$ref' beside other constraining keywords is not supported");
            }
            Node.Ref ref = new Node.Ref(s.get("$ref").asText());
            refs.add(ref);
            return ref;
        }
        String listed = s.has("const") ? "const" : s.has("enum") ? "enum" : null;
        if (listed != null) { // the values are written as they are: only a type beside them may narrow them
            if (s.has("const") && s.has("enum") && !containsValue(s.get("enum"), s.get("const"))) {
                throw new SchemaException(path, "const", "the 'const' value is not one of 'enum': no value is allowed");
            } // both, agreeing (Pydantic writes a one-value Literal so): the const
            refuseBeside(s, listed, List.of("anyOf", "oneOf"), path, "list only the values that the other keywords allow");
            JsonNode values = listed.equals("const") ? JSON.createArrayNode().add(s.get("const")) : s.get("enum");
            return enumeration(values, s.get("type"), path, listed);
        }
        String union = s.has("anyOf") ? "anyOf" : s.has("oneOf") ? "oneOf" : null;
        if (union != null) {
            refuseBeside(s, union, List.of("oneOf", "type"), path, "put the shared constraints into each option");
            return anyOf(s, union, path);
        }
        return typed(s, path);
    }

    /** Refuses {@code keyword} beside any of {@code others} or of the kind keywords in {@code s}, with {@code advice}. */
    private static void refuseBeside(JsonNode s, String keyword, List<String> others, String path, String advice) {
        for (String sibling : Stream.concat(others.stream(), KIND_KEYWORDS.stream()).toList()) {
            if (!sibling.equals(keyword) && s.has(sibling)) {
                throw new SchemaException(path, keyword, "'" + keyword + "' beside '" + sibling + "' is not supported; "
                        + advice);
            }
        }
    }

    private static boolean containsValue(JsonNode values, JsonNode value) {
        if (values.isArray()) {
            for (JsonNode v : values) {
                if (v.equals(value)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Whether {@code s} has a constraining keyword besides {@code keyword} (annotations and definitions are none). */
    private static boolean hasOtherConstraints(JsonNode s, String keyword) {
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!k.equals(keyword) && !ANNOTATIONS.contains(k) && !k.equals("$defs") && !k.equals("definitions")) {
                return true;
            }
        }
        return false;
    }

    /** The listed values as literals, those of a {@code type} beside them only. */
    private Node enumeration(JsonNode values, JsonNode type, String path, String keyword) {
        if (!values.isArray() || values.isEmpty()) {
            throw new SchemaException(path, keyword, "'enum' must be a non-empty array");
        }
        List<Node> options = new ArrayList<>();
        for (JsonNode v : values) {
            if (type == null || ofTypes(v, type)) {
                options.add(new Node.Literal(json(v)));
            }
        }
        if (options.isEmpty()) {
            throw new SchemaException(path, keyword, "no value of '" + keyword + "' has the 'type' beside it");
        }
        return options.size() == 1 ? options.get(0) : new Node.AnyOf(options);
    }

    private static boolean ofTypes(JsonNode value, JsonNode type) {
        if (type.isArray()) {
            for (JsonNode t : type) {
                if (ofTypes(value, t)) {
                    return true;
                }
            }
            return false;
        }
        return switch (type.asText()) {
            case "object" -> value.isObject();
            case "array" -> value.isArray();
            case "string" -> value.isTextual();
            case "number" -> value.isNumber();
            case "integer" -> value.isIntegralNumber() || value.isNumber() && value.asDouble() == Math.rint(value.asDouble());
            case "boolean" -> value.isBoolean();
            case "null" -> value.isNull();
            default -> false;
        };
    }

    private Node anyOf(JsonNode s, String keyword, String path) {
        JsonNode options = s.get(keyword);
        if (!options.isArray() || options.isEmpty()) {
            throw new SchemaException(path, keyword, "'" + keyword + "' must be a non-empty array of schemas");
        }
        List<Node> nodes = new ArrayList<>();
        for (int i = 0; i < options.size(); i++) {
            nodes.add(node(options.get(i), path + "/" + keyword + "/" + i));
        }
        if (keyword.equals("oneOf")) { // checked once references are resolved
            oneOfs.add(new OneOfAt(List.copyOf(nodes), path));
        }
        return nodes.size() == 1 ? nodes.get(0) : new Node.AnyOf(nodes);
    }

    private Node typed(JsonNode s, String path) {
        JsonNode type = s.get("type");
        if (type == null) { // a value its keywords constrain is written as the kind they constrain
            if (s.has("properties") || s.has("additionalProperties") || s.has("required")) {
                return object(s, path);
            }
            if (s.has("items") || s.has("prefixItems") || s.has("minItems") || s.has("maxItems") || s.has("uniqueItems")) {
                return array(s, path);
            }
            if (STRING_KEYWORDS.stream().anyMatch(s::has)) {
                return string(s, path);
            }
            if (NUMBER_KEYWORDS.stream().anyMatch(s::has)) {
                return number(s, false, path);
            }
            return Node.anyValue();
        }
        if (type.isArray()) {
            List<Node> options = new ArrayList<>();
            for (JsonNode t : type) {
                options.add(ofType(t.asText(), s, path));
            }
            if (options.isEmpty()) {
                throw new SchemaException(path, "type", "'type' must name at least one type");
            }
            return options.size() == 1 ? options.get(0) : new Node.AnyOf(options);
        }
        return ofType(type.asText(), s, path);
    }

    private Node ofType(String type, JsonNode s, String path) {
        return switch (type) {
            case "object" -> object(s, path);
            case "array" -> array(s, path);
            case "string" -> string(s, path);
            case "number" -> number(s, false, path);
            case "integer" -> number(s, true, path);
            case "boolean" -> new Node.AnyOf(List.of(Node.Literal.TRUE, Node.Literal.FALSE));
            case "null" -> Node.Literal.NULL;
            default -> throw new SchemaException(path, "type", "unknown type '" + type + "'");
        };
    }

    private Node object(JsonNode s, String path) {
        JsonNode properties = s.path("properties");
        Set<String> required = new HashSet<>();
        for (JsonNode r : s.path("required")) {
            required.add(r.asText());
        }
        List<Node.Property> props = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = properties.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            props.add(Node.Property.of(e.getKey(), node(e.getValue(), path + "/properties/" + e.getKey()),
                    required.contains(e.getKey())));
        }
        for (String r : required) {
            if (!properties.has(r)) {
                throw new SchemaException(path, "required", "required property '" + r + "' is not in 'properties'");
            }
        }
        JsonNode additional = s.get("additionalProperties");
        Node extra = null;
        if (props.isEmpty() && (additional == null || !additional.isBoolean() || additional.asBoolean())) {
            extra = additional == null || additional.isBoolean() ? Node.anyValue()
                    : node(additional, path + "/additionalProperties");
        }
        return new Node.Obj(props, extra);
    }

    /**
     * An array: {@code items} for every item, or a tuple, {@code prefixItems} (draft 2020-12) or an array of
     * {@code items} (draft 7) for the first items, then {@code items} or {@code additionalItems} for the rest
     * ({@code false}: none).
     */
    private Node array(JsonNode s, String path) {
        JsonNode items = s.get("items");
        JsonNode tuple = s.get("prefixItems");
        String rest = "items";
        if (items != null && items.isArray()) { // draft 7's tuple
            if (tuple != null) {
                throw new SchemaException(path, "items", "'items' as an array beside 'prefixItems'");
            }
            tuple = items;
            items = s.get("additionalItems");
            rest = "additionalItems";
        } else if (s.has("additionalItems")) {
            throw new SchemaException(path, "additionalItems", "'additionalItems' without a tuple in 'items' means nothing;"
                    + " use 'prefixItems' and 'items'");
        }
        List<Node> prefix = new ArrayList<>();
        if (tuple != null) {
            if (!tuple.isArray()) {
                throw new SchemaException(path, "prefixItems", "'prefixItems' must be an array of schemas");
            }
            for (int i = 0; i < tuple.size(); i++) {
                prefix.add(node(tuple.get(i), path + "/" + (rest.equals("items") ? "prefixItems/" : "items/") + i));
            }
        }
        Node item = items == null ? Node.anyValue()
                : items.isBoolean() && !items.asBoolean() ? null : node(items, path + "/" + rest);
        int min = bound(s, "minItems", 0, path);
        int max = bound(s, "maxItems", -1, path);
        if (max >= 0 && max < min) {
            throw new SchemaException(path, "maxItems", "'maxItems' " + max + " is below 'minItems' " + min);
        }
        if (item == null && min > prefix.size()) {
            throw new SchemaException(path, "minItems", "'minItems' " + min + " is more than the " + prefix.size()
                    + " items the tuple allows");
        }
        Node.Arr arr = new Node.Arr(prefix, item, min, max);
        JsonNode unique = s.get("uniqueItems");
        if (unique != null && !unique.isBoolean()) {
            throw new SchemaException(path, "uniqueItems", "'uniqueItems' must be a boolean");
        }
        if (unique != null && unique.asBoolean()) {
            if (!prefix.isEmpty() || item == null) {
                throw new SchemaException(path, "uniqueItems", "'uniqueItems' beside a tuple is not supported");
            }
            uniques.add(new UniqueAt(arr, path)); // its items may be a reference: resolved first
        }
        return arr;
    }

    /**
     * A string within its length bounds, or one its {@code pattern} or {@code format} matches: one of the three
     * kinds of constraint only, since together they could leave an output with no way to end (a pattern that needs
     * more characters than maxLength allows).
     */
    private static Node string(JsonNode s, String path) {
        int min = bound(s, "minLength", 0, path);
        int max = bound(s, "maxLength", -1, path);
        if (max >= 0 && max < min) {
            throw new SchemaException(path, "maxLength", "'maxLength' " + max + " is below 'minLength' " + min);
        }
        List<String> kinds = new ArrayList<>();
        for (String k : List.of("pattern", "format")) {
            if (s.has(k)) {
                kinds.add(k);
            }
        }
        if (min > 0 || max >= 0) {
            kinds.add(0, s.has("minLength") ? "minLength" : "maxLength");
        }
        if (kinds.size() > 1) {
            throw new SchemaException(path, kinds.get(1), "'" + kinds.get(1) + "' beside '" + kinds.get(0) + "' is not"
                    + " supported: write the length into the pattern (as in \"^[a-z]{2,8}$\")");
        }
        if (s.has("pattern")) {
            if (!s.get("pattern").isTextual()) {
                throw new SchemaException(path, "pattern", "'pattern' must be a string");
            }
            try {
                return new Node.Str(0, -1, StringPattern.compile(s.get("pattern").asText()));
            } catch (IllegalArgumentException e) {
                throw new SchemaException(path, "pattern", "'pattern': " + e.getMessage());
            }
        }
        if (s.has("format")) {
            StringPattern format = StringFormats.pattern(s.get("format").asText());
            if (format == null) {
                throw new SchemaException(path, "format", "'format' " + s.get("format") + " is not supported; supported: "
                        + String.join(", ", StringFormats.names()));
            }
            return new Node.Str(0, -1, format);
        }
        return min == 0 && max < 0 ? Node.Str.ANY : new Node.Str(min, max, null);
    }

    /**
     * A number or integer within its bounds: {@code minimum}, {@code exclusiveMinimum} (a number, or as in draft 4 a
     * boolean making {@code minimum} exclusive), the stricter of the two when both are numbers; the same above.
     */
    private static Node number(JsonNode s, boolean integer, String path) {
        Bound low = end(s, "minimum", "exclusiveMinimum", path, 1);
        Bound high = end(s, "maximum", "exclusiveMaximum", path, -1);
        BigDecimal multiple = s.has("multipleOf") ? decimal(s.get("multipleOf"), "multipleOf", path) : null;
        if (multiple != null && multiple.signum() <= 0) {
            throw new SchemaException(path, "multipleOf", "'multipleOf' must be above 0");
        }
        if (low == null && high == null && multiple == null) {
            return integer ? Node.Num.INTEGER : Node.Num.NUMBER;
        }
        NumberBounds bounds = NumberBounds.of(low == null ? null : low.value, low != null && low.open,
                high == null ? null : high.value, high != null && high.open, multiple, integer);
        if (!bounds.writable(integer)) {
            throw new SchemaException(path, high != null ? high.keyword : low != null ? low.keyword : "multipleOf",
                    "no " + (integer ? "integer" : "number") + " within the bounds can be written without an exponent"
                    + " in at most " + Frame.Num.MAX_DIGITS + " digits before the point and as many after it");
        }
        return new Node.Num(integer, bounds);
    }

    private record Bound(BigDecimal value, boolean open, String keyword) {
    }

    /**
     * One end of a number's bounds ({@code sign} 1: the lower, whose larger value is stricter; -1: the upper), or
     * null when none is given.
     */
    private static Bound end(JsonNode s, String inclusive, String exclusive, String path, int sign) {
        JsonNode in = s.get(inclusive);
        JsonNode ex = s.get(exclusive);
        Bound bound = null;
        if (in != null) {
            bound = new Bound(decimal(in, inclusive, path), ex != null && ex.isBoolean() && ex.asBoolean(), inclusive);
        } else if (ex != null && ex.isBoolean()) {
            if (ex.asBoolean()) {
                throw new SchemaException(path, exclusive, "'" + exclusive + "': true needs '" + inclusive + "' beside it");
            }
        }
        if (ex != null && !ex.isBoolean()) {
            Bound strict = new Bound(decimal(ex, exclusive, path), true, exclusive);
            if (bound == null || strict.value.compareTo(bound.value) * sign >= 0) {
                bound = strict;
            }
        }
        return bound;
    }

    private static BigDecimal decimal(JsonNode v, String keyword, String path) {
        if (!v.isNumber() || (v.isDouble() || v.isFloat()) && !Double.isFinite(v.doubleValue())) {
            throw new SchemaException(path, keyword, "'" + keyword + "' must be a (finite) number");
        }
        BigDecimal value = v.decimalValue();
        if (value.stripTrailingZeros().scale() > NumberBounds.FRACTION_DIGITS) {
            throw new SchemaException(path, keyword, "'" + keyword + "' may have at most " + NumberBounds.FRACTION_DIGITS
                    + " digits after the point");
        }
        return value;
    }

    private static int bound(JsonNode s, String keyword, int absent, String path) {
        JsonNode v = s.get(keyword);
        if (v == null) {
            return absent;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 0) {
            throw new SchemaException(path, keyword, "'" + keyword + "' must be a non-negative integer");
        }
        return v.asInt();
    }

    /** A local reference: {@code #}, {@code #/$defs/name}, {@code #/definitions/name} or any JSON pointer in the schema. */
    private Node resolve(String ref) {
        if (!ref.equals("#") && !ref.startsWith("#/")) {
            throw new SchemaException(ref, "$ref", "only local references ('#/$defs/...') are supported, got '" + ref + "'");
        }
        Node done = compiled.get(ref);
        if (done != null) {
            return done;
        }
        JsonNode target = ref.equals("#") ? root : root.at(ref.substring(1));
        if (target.isMissingNode()) {
            throw new SchemaException(ref, "$ref", "'" + ref + "' points at nothing in the schema");
        }
        Node node = node(target, ref);
        compiled.put(ref, node);
        return node;
    }

    /**
     * Refuses a cycle of references and alternatives that reaches itself before any character is written (such as
     * {@code {"anyOf": [{"$ref": "#"}, ...]}}): matching it would recurse without end.
     */
    private static void checkNoEmptyCycle(Node node, Set<Node> path, Set<Node> done, String where) {
        if (done.contains(node)) {
            return;
        }
        if (!path.add(node)) {
            throw new SchemaException(where, "$ref", "a reference leads back to itself before any character is written");
        }
        if (node instanceof Node.Ref ref) {
            checkNoEmptyCycle(ref.target, path, done, ref.ref);
        } else if (node instanceof Node.AnyOf any) {
            for (Node option : any.options) {
                checkNoEmptyCycle(option, path, done, where);
            }
        }
        path.remove(node);
        done.add(node);
    }

    private static String json(JsonNode value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
