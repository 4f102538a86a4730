package io.flexiserve.model;

/**
 * What every layer of a single-row step shares ({@link RowForward}): where the row sits in its sequence and in the
 * KV cache, its routing cut, the step's routing trace, and RoPE scratch.
 */
final class RowStep {

    final KvCache cache;
    final int position;    // the row's position in its sequence: it attends to positions 0..position
    final int kvOffset;    // the sequence's first cache row
    final int cacheRow;    // the cache row this row writes: kvOffset + position
    final float threshold; // a routed layer runs when its gate exceeds this
    final RoutingTrace trace;
    final float[] cos;     // (Dh) scratch for Rope.rotate
    final float[] sin;

    RowStep(KvCache cache, SequenceChunk chunk, RoutingTrace trace, int headDim) {
        this.cache = cache;
        this.position = chunk.pastLength();
        this.kvOffset = chunk.kvOffset();
        this.cacheRow = kvOffset + position;
        this.threshold = chunk.threshold();
        this.trace = trace;
        this.cos = new float[headDim];
        this.sin = new float[headDim];
    }
}
