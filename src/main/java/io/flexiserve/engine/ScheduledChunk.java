package io.flexiserve.engine;

/** Rows [from, from + count) of one sequence in this step; {@code wantLogits} when they end at its last token. */
record ScheduledChunk(Sequence sequence, int from, int count, boolean wantLogits) {
}
