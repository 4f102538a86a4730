package io.flexiserve.structured;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The string {@code format}s a schema may ask for, each written as a {@link StringPattern} that matches only valid
 * values, valid for the strictest common validators too: what the grammar writes always validates, though it may
 * not reach every valid value (an email address or a fraction of a second is bounded in length, and an address's
 * local part takes letters, digits, {@code _+-} and one dot; uppercase {@code T} and {@code Z} only; no leap
 * second; offsets within 18 hours, as {@code java.time} takes them; a UUID has an RFC 9562 version and variant).
 * {@code date} knows the lengths of the months and the leap years (every fourth year, but of the centuries only
 * every fourth), from year 1 to 9999 (year 0 is valid RFC 3339, but Python's {@code date} refuses it).
 */
final class StringFormats {

    private static final String LEAP_YEAR = "(?:\\d\\d(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)";
    private static final String YEAR = "(?:000[1-9]|00[1-9]\\d|0[1-9]\\d\\d|[1-9]\\d{3})"; // 0001-9999, as ISO dates run
    private static final String MONTH_DAY = "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)"
            + "|02-(?:0[1-9]|1\\d|2[0-8]))";
    private static final String DATE = "(?:" + YEAR + "-" + MONTH_DAY + "|" + LEAP_YEAR + "-02-29)";
    private static final String TIME = "(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d{1,9})?(?:Z|[+-](?:(?:0\\d|1[0-7]):[0-5]\\d|18:00))";
    private static final String HEX = "[0-9a-fA-F]";
    private static final String OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
    private static final String LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?";
    private static final String ATOM = "[A-Za-z0-9_+-]"; // RFC 5321 allows more; zod and others refuse it

    private static final Map<String, String> PATTERNS = Map.of(
            "date-time", "^" + DATE + "T" + TIME + "$",
            "date", "^" + DATE + "$",
            "time", "^" + TIME + "$",
            "uuid", "^" + HEX + "{8}-" + HEX + "{4}-[1-8]" + HEX + "{3}-[89abAB]" + HEX + "{3}-" + HEX + "{12}$",
            "ipv4", "^" + OCTET + "(?:\\." + OCTET + "){3}$",
            "email", "^" + ATOM + "{1,30}(?:\\." + ATOM + "{1,30})?@(?:" + LABEL + "\\.){1,3}[A-Za-z]{2,12}$");

    private static final Map<String, StringPattern> COMPILED = new ConcurrentHashMap<>();

    private StringFormats() {
    }

    static Set<String> names() {
        return new TreeSet<>(PATTERNS.keySet());
    }

    /** The pattern of {@code format}, or null when it is not one of {@link #names}. */
    static StringPattern pattern(String format) {
        String regex = PATTERNS.get(format);
        return regex == null ? null : COMPILED.computeIfAbsent(format, f -> StringPattern.compile(regex));
    }
}
