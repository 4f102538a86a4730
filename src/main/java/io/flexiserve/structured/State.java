package io.flexiserve.structured;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * Where a structured output stands after some bytes: the set of stacks (one per way of reading the bytes so far,
 * usually one) that are still alive. Immutable and compared by value, so it keys the grammar's mask cache.
 */
final class State {

    /** The fewest readings a state may hold, however small its grammar. */
    static final int MIN_READINGS_BOUND = 256;

    private final Stack[] stacks;
    private final int hash;
    private final int maxReadings; // not part of the value: every state of one grammar has the same

    private State(Stack[] stacks, int maxReadings) {
        this.stacks = stacks;
        this.hash = Arrays.hashCode(stacks);
        this.maxReadings = maxReadings;
    }

    /**
     * The state before any byte. Options that begin alike stay apart as readings until they differ: a level of
     * options (an enum's values, an object's optional keys) gives as many readings as it has options, but a
     * recursive schema whose options share their opening doubles them at every level of nesting. So a state holds
     * at most {@code max(256, 8 x the grammar's parts)} readings, and a byte that would take it past that is refused
     * (the output must go another way), bounding every mask's time and memory.
     */
    static State start(Node root) {
        Frame first = root instanceof Node.Raw raw ? new Frame.Raw(raw, raw.pattern.start(), 0, 0x80, 0xBF, 0)
                : new Frame.Root(root, false, 0);
        return new State(new Stack[] {new Stack(first, null)}, Math.max(MIN_READINGS_BOUND, 8 * Node.size(root)));
    }

    /** The state after one more byte, or null when no stack accepts it (or too many would: {@link #start}). */
    State advance(int b) {
        if (stacks.length == 1) {
            Stack s = stacks[0];
            if (s.top instanceof Frame.Str str && str == Frame.Str.PLAIN && b >= 0x20 && b < 0x80 && b != '"'
                    && b != '\\' || s.top instanceof Frame.Text) {
                return this; // the hot path: a plain character inside a string, or free text
            }
        }
        List<Stack> out = new ArrayList<>(2);
        for (Stack s : stacks) {
            Transitions.step(s, b, out);
        }
        if (out.isEmpty()) {
            return null;
        }
        if (out.size() == 1) {
            return out.get(0).equals(stacks.length == 1 ? stacks[0] : null) ? this
                    : new State(new Stack[] {out.get(0)}, maxReadings);
        }
        Stack[] readings = new LinkedHashSet<>(out).toArray(Stack[]::new);
        return readings.length > maxReadings ? null : new State(readings, maxReadings);
    }

    /** Whether the output may end here: some stack holds a complete value. */
    boolean accepting() {
        for (Stack s : stacks) {
            if (Transitions.accepting(s)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the output is inside a string, with no escape or character under way (one reading only). */
    boolean inPlainString() {
        return stacks.length == 1 && stacks[0].top == Frame.Str.PLAIN;
    }

    /**
     * The frame of the string the output is inside when it is one whose length is bounded (no pattern), with no escape
     * or character under way (one reading only); else null.
     */
    Frame.Str inLengthBoundedString() {
        if (stacks.length == 1 && stacks[0].top instanceof Frame.Str str && str.node().constrained()
                && str.node().pattern == null && str.cont() == 0 && str.hex() == 0 && !str.escape()) {
            return str;
        }
        return null;
    }

    /** Whether every byte and the end are allowed from here on (free text): no mask is needed. */
    boolean unconstrained() {
        return stacks.length == 1 && stacks[0].top instanceof Frame.Text;
    }

    @Override
    public boolean equals(Object o) {
        return this == o || o instanceof State s && s.hash == hash && Arrays.equals(s.stacks, stacks);
    }

    @Override
    public int hashCode() {
        return hash;
    }
}
