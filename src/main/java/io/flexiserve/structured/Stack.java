package io.flexiserve.structured;

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

    /** Frame by frame, iteratively: a deeply nested output must not overflow the thread's stack. */
    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Stack other)) {
            return false;
        }
        Stack a = this;
        Stack b = other;
        while (a != b) {
            if (a == null || b == null || a.hash != b.hash || !a.top.equals(b.top)) {
                return false;
            }
            a = a.below;
            b = b.below;
        }
        return true;
    }

    @Override
    public int hashCode() {
        return hash;
    }
}
