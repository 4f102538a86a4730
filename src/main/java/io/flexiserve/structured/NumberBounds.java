package io.flexiserve.structured;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * A number's bounds ({@code minimum}, {@code maximum}, {@code exclusiveMinimum}, {@code exclusiveMaximum}; a null
 * end is unbounded) and {@code multipleOf} (null: none), and the question the matcher asks of them at each byte of
 * such a number: can a number that opens with these bytes still end within them, a multiple?
 *
 * <p>A bounded number is written without an exponent, with at most {@link Frame.Num#MAX_DIGITS} digits before the
 * point and as many after it. The numbers an opening can still become are then a few closed intervals of that grid
 * (digits {@code d} so far: {@code d} itself and its fractions, {@code [d, d + 1 - ulp]}, then
 * {@code [10 d, 10 d + 10 - ulp]} with one more digit, and so on), and the opening is allowed when one of them meets
 * the bounds. Bounds have at most {@link #FRACTION_DIGITS} digits after the point, so a bound and an interval that
 * meet also share a number of the grid; an integer's bounds are rounded in to whole numbers, so that they meet only
 * at an integer. A multiple lies in an interval when the interval's ends, divided by it, round (in) to an
 * integer range that is not empty; a multiple of at most {@link #FRACTION_DIGITS} digits after the point is on the
 * grid. Hence no opening allowed is a dead end.
 */
record NumberBounds(BigDecimal low, boolean lowOpen, BigDecimal high, boolean highOpen, BigDecimal multipleOf) {

    /** Digits after the point a bound may have. */
    static final int FRACTION_DIGITS = 12;
    private static final BigDecimal GRID = BigDecimal.ONE.movePointLeft(Frame.Num.MAX_DIGITS);

    /** The bounds as given; for an integer, rounded in to the whole numbers within them, both ends closed. */
    static NumberBounds of(BigDecimal low, boolean lowOpen, BigDecimal high, boolean highOpen, BigDecimal multipleOf,
                           boolean integer) {
        if (!integer) {
            return new NumberBounds(low, lowOpen, high, highOpen, multipleOf);
        }
        BigDecimal lowInt = low == null ? null : lowOpen ? low.setScale(0, RoundingMode.FLOOR).add(BigDecimal.ONE)
                : low.setScale(0, RoundingMode.CEILING);
        BigDecimal highInt = high == null ? null : highOpen ? high.setScale(0, RoundingMode.CEILING).subtract(BigDecimal.ONE)
                : high.setScale(0, RoundingMode.FLOOR);
        return new NumberBounds(lowInt, false, highInt, false, multipleOf);
    }

    boolean contains(BigDecimal value) {
        return (low == null || (lowOpen ? value.compareTo(low) > 0 : value.compareTo(low) >= 0))
                && (high == null || (highOpen ? value.compareTo(high) < 0 : value.compareTo(high) <= 0))
                && (multipleOf == null || value.remainder(multipleOf).signum() == 0);
    }

    /** Whether any number within the bounds can be written: some first byte can still reach one. */
    boolean writable(boolean integer) {
        return "-0123456789".chars().anyMatch(c -> reachable(String.valueOf((char) c), Frame.Num.first(c), integer));
    }

    /**
     * Whether some number that opens with {@code text} (which JSON's number syntax allows, leaving it in
     * {@code state}, a {@link Frame.Num} state other than the exponent's) lies within the bounds.
     */
    boolean reachable(String text, int state, boolean integer) {
        boolean negative = text.startsWith("-");
        String magnitude = negative ? text.substring(1) : text;
        BigDecimal ulp = integer ? BigDecimal.ONE : GRID;
        switch (state) {
            case Frame.Num.SIGN -> { // any magnitude the digits can write
                return meets(BigDecimal.ZERO, BigDecimal.ONE.movePointRight(Frame.Num.MAX_DIGITS).subtract(ulp), negative);
            }
            case Frame.Num.ZERO -> {
                return meets(BigDecimal.ZERO, BigDecimal.ONE.subtract(ulp), negative);
            }
            case Frame.Num.INT -> {
                BigDecimal d = new BigDecimal(magnitude);
                for (int more = 0; magnitude.length() + more <= Frame.Num.MAX_DIGITS; more++) {
                    BigDecimal from = d.movePointRight(more);
                    if (meets(from, from.add(BigDecimal.ONE.movePointRight(more)).subtract(ulp), negative)) {
                        return true;
                    }
                }
                return false;
            }
            case Frame.Num.DOT -> {
                BigDecimal d = new BigDecimal(magnitude.substring(0, magnitude.length() - 1));
                return meets(d, d.add(BigDecimal.ONE).subtract(ulp), negative);
            }
            case Frame.Num.FRACTION -> {
                BigDecimal v = new BigDecimal(magnitude);
                return meets(v, v.add(BigDecimal.ONE.movePointLeft(v.scale())).subtract(ulp), negative);
            }
            default -> throw new IllegalArgumentException("a bounded number has no exponent: state " + state);
        }
    }

    /** Whether the magnitudes {@code [from, to]} ({@code to} null: no end), negated when {@code negative}, meet the bounds. */
    private boolean meets(BigDecimal from, BigDecimal to, boolean negative) {
        BigDecimal lo = negative ? (to == null ? null : to.negate()) : from; // null: unbounded
        BigDecimal hi = negative ? from.negate() : to;
        boolean loClosed = true;
        boolean hiClosed = true;
        if (low != null) {
            int c = lo == null ? 1 : low.compareTo(lo);
            if (c > 0) {
                lo = low;
                loClosed = !lowOpen;
            } else if (c == 0) {
                loClosed = !lowOpen;
            }
        }
        if (high != null) {
            int c = hi == null ? -1 : high.compareTo(hi);
            if (c < 0) {
                hi = high;
                hiClosed = !highOpen;
            } else if (c == 0) {
                hiClosed = !highOpen;
            }
        }
        if (lo == null || hi == null) {
            return true;
        }
        if (multipleOf != null) { // the multiples k m within: k from the low end's quotient up, to the high end's down
            BigDecimal first = lo.divide(multipleOf, 0, loClosed ? RoundingMode.CEILING : RoundingMode.FLOOR);
            BigDecimal last = hi.divide(multipleOf, 0, hiClosed ? RoundingMode.FLOOR : RoundingMode.CEILING);
            if (!loClosed) {
                first = first.add(BigDecimal.ONE);
            }
            if (!hiClosed) {
                last = last.subtract(BigDecimal.ONE);
            }
            return first.compareTo(last) <= 0;
        }
        int c = lo.compareTo(hi);
        return c < 0 || c == 0 && loClosed && hiClosed;
    }
}
