package io.flexiserve.tokenizer;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.lib.filter.Filter;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;

/**
 * Where Jinjava's built-ins differ from what transformers gives chat templates in Jinja2, the Jinja2 behaviour, so
 * that a template renders the prompt its model was trained on (Llama 3.1's tool format uses both):
 * {@code tojson} is Python's {@code json.dumps(x, ensure_ascii=False, indent=indent)} (", " and ": " between
 * items, or newlines with {@code indent}), and a string is {@code iterable}.
 */
final class JinjaCompat {

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper
            .builder().disable(com.fasterxml.jackson.core.json.JsonWriteFeature.WRITE_HEX_UPPER_CASE).build(); // \u001b

    private JinjaCompat() {
    }

    /** {@code tojson} and {@code tojson(indent=n)} as transformers defines them. */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return dumps(var, args.length > 0 ? Integer.parseInt(args[0].trim()) : -1);
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : args.length > 0 ? args[0] : null;
            return dumps(var, indent == null ? -1 : ((Number) indent).intValue());
        }
    }

    /** Jinja2's {@code iterable}: anything that can be looped over, strings included. */
    static final class IsIterable implements ExpTest {
        @Override
        public String getName() {
            return "iterable";
        }

        @Override
        public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
            return var instanceof CharSequence || var instanceof Iterable || var instanceof Map
                    || var != null && var.getClass().isArray() || var instanceof Iterator;
        }
    }

    /** Python's {@code json.dumps} with {@code ensure_ascii=False}; {@code indent} below 0 for none. */
    static String dumps(Object value, int indent) {
        StringBuilder out = new StringBuilder();
        write(out, value, indent, 0);
        return out.toString();
    }

    private static void write(StringBuilder out, Object value, int indent, int depth) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof Boolean || value instanceof Integer || value instanceof Long
                || value instanceof java.math.BigInteger || value instanceof Short || value instanceof Byte) {
            out.append(value);
        } else if (value instanceof Number n) {
            out.append(pythonFloat(n.doubleValue()));
        } else if (value instanceof Map<?, ?> map) {
            container(out, map.entrySet(), '{', '}', indent, depth, (e, d) -> {
                string(out, String.valueOf(((Map.Entry<?, ?>) e).getKey()));
                out.append(": ");
                write(out, ((Map.Entry<?, ?>) e).getValue(), indent, d);
            });
        } else if (value instanceof Collection<?> list) {
            container(out, list, '[', ']', indent, depth, (item, d) -> write(out, item, indent, d));
        } else {
            string(out, value.toString());
        }
    }

    private interface ItemWriter {
        void write(Object item, int depth);
    }

    private static void container(StringBuilder out, Collection<?> items, char open, char close, int indent, int depth,
                                  ItemWriter item) {
        out.append(open);
        if (items.isEmpty()) {
            out.append(close);
            return;
        }
        boolean first = true;
        for (Object i : items) {
            if (!first) {
                out.append(indent < 0 ? ", " : ",");
            }
            first = false;
            if (indent >= 0) {
                out.append('\n').append(" ".repeat(indent * (depth + 1)));
            }
            item.write(i, depth + 1);
        }
        if (indent >= 0) {
            out.append('\n').append(" ".repeat(indent * depth));
        }
        out.append(close);
    }

    /** A JSON string as Python writes it with ensure_ascii=False: Jackson escapes the same characters the same way. */
    private static void string(StringBuilder out, String s) {
        try {
            out.append(JSON.writeValueAsString(s));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e); // a String always serializes
        }
    }

    /** Python's {@code repr} of a float: {@code 1.0}, {@code 0.5}, {@code 1e+16}, {@code 1e-05}, {@code NaN}. */
    static String pythonFloat(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        java.math.BigDecimal shortest = new java.math.BigDecimal(Double.toString(d)).stripTrailingZeros();
        int exponent = shortest.precision() - shortest.scale() - 1; // of the leading digit
        if (exponent >= 16 || exponent < -4) {
            String digits = shortest.unscaledValue().abs().toString();
            String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return (d < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+")
                    + String.format("%02d", Math.abs(exponent));
        }
        String plain = shortest.toPlainString();
        return plain.contains(".") ? plain : plain + ".0";
    }
}
