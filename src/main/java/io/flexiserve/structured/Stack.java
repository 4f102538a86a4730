package io.flexiserve.structured;

import java.util.Objects;

/** A persistent stack of {@link Frame}s (the innermost value on top), compared by value. */
final class Stack {

    final Frame top;
    final Stack below;
    private final int hash;

    Stack(Frame top, Stack below) {
        this.top = top;
        this.below = below;
        this.hash = 31 * top.hashCode() + (below == null ? 0 : below.hash);
    }

    /** This stack with its top replaced. */
    Stack with(Frame frame) {
        return new Stack(frame, below);
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        return o instanceof Stack s && s.hash == hash && s.top.equals(top) && Objects.equals(s.below, below);
    }

    @Override
    public int hashCode() {
        return hash;
    }
}
