package io.flexiserve.structured;

import java.math.BigDecimal;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * When {@code oneOf} may be written as {@code anyOf}: when no value can match two of its options, so that a value of
 * one option is valid against the {@code oneOf}. Decided conservatively, on the compiled options (references
 * resolved): two options exclude each other when their values are of different JSON kinds (objects, arrays,
 * strings, numbers, booleans, null), when both are lists of literals with none in common, or when both are objects
 * that require one same property whose values are literals none of which the other allows (a discriminated
 * union, as Pydantic writes one). Anything else is taken to overlap.
 */
final class OneOf {

    private static final List<String> KINDS = List.of("object", "array", "string", "number", "boolean", "null");

    private OneOf() {
    }

    /** Whether every two of {@code options} exclude each other. */
    static boolean exclusive(List<Node> options) {
        for (int i = 0; i < options.size(); i++) {
            for (int j = i + 1; j < options.size(); j++) {
                if (!exclusive(options.get(i), options.get(j))) {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean exclusive(Node a, Node b) {
        a = resolved(a);
        b = resolved(b);
        Set<String> kinds = kinds(a, new HashSet<>());
        kinds.retainAll(kinds(b, new HashSet<>()));
        if (kinds.isEmpty()) {
            return true;
        }
        if (literals(a) != null && literals(b) != null) {
            return disjoint(literals(a), literals(b));
        }
        if (a instanceof Node.Obj oa && b instanceof Node.Obj ob && !oa.map() && !ob.map()) {
            for (Node.Property pa : oa.properties) {
                for (Node.Property pb : ob.properties) {
                    if (pa.required() && pb.required() && pa.name().equals(pb.name())
                            && disjoint(literals(resolved(pa.value())), literals(resolved(pb.value())))) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** Whether two lists of literals (null: not literals) have no value in common. */
    private static boolean disjoint(List<String> x, List<String> y) {
        return x != null && y != null && x.stream().noneMatch(a -> y.stream().anyMatch(b -> same(a, b)));
    }

    private static Node resolved(Node n) {
        return n instanceof Node.Ref ref ? ref.resolved() : n;
    }

    /** The JSON kinds a node's values may be of. */
    private static Set<String> kinds(Node n, Set<Node> seen) {
        n = resolved(n);
        Set<String> out = new HashSet<>();
        if (!seen.add(n)) {
            return out;
        }
        if (n instanceof Node.AnyOf any) {
            any.options.forEach(o -> out.addAll(kinds(o, seen)));
        } else if (n instanceof Node.Obj) {
            out.add("object");
        } else if (n instanceof Node.Arr) {
            out.add("array");
        } else if (n instanceof Node.Str) {
            out.add("string");
        } else if (n instanceof Node.Num) {
            out.add("number");
        } else if (n instanceof Node.Literal l) {
            out.add(kindOf(l.text()));
        } else {
            out.addAll(KINDS); // free text: anything
        }
        return out;
    }

    private static String kindOf(String json) {
        return switch (json.charAt(0)) {
            case '{' -> "object";
            case '[' -> "array";
            case '"' -> "string";
            case 't', 'f' -> "boolean";
            case 'n' -> "null";
            default -> "number";
        };
    }

    /** The JSON texts of a literal or of options that are all literals; else null. */
    private static List<String> literals(Node n) {
        if (n instanceof Node.Literal l) {
            return List.of(l.text());
        }
        if (n instanceof Node.AnyOf any && any.options.stream().allMatch(o -> o instanceof Node.Literal)) {
            return any.options.stream().map(o -> ((Node.Literal) o).text()).toList();
        }
        return null;
    }

    /** Whether two literals' JSON texts are one value: numbers compared as numbers, the rest as written. */
    private static boolean same(String x, String y) {
        if (kindOf(x).equals("number") && kindOf(y).equals("number")) {
            return new BigDecimal(x).compareTo(new BigDecimal(y)) == 0;
        }
        return x.equals(y);
    }
}
