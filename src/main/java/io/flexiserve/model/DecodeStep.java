package io.flexiserve.model;

/**
 * What every layer of a decode step shares ({@link DecodeForward}): for each row, the single new token of its own
 * sequence, where it sits in that sequence and in the KV cache, its routing cut and its RoPE angles; the cache; and
 * the step's routing trace.
 */
final class DecodeStep {

    final KvCache cache;
    final int rows;           // N
    final int[] position;     // (N) each row's position in its sequence: it attends to positions 0..position
    final KvRows[] kv;        // (N) where its sequence's tokens sit in the cache
    final int[] cacheRow;     // (N) the cache row it writes: its position's
    final float[] threshold;  // (N) a routed layer runs for the row when its gate exceeds this
    final float[] cos;        // (N, Dh) RoPE angles of each row's position, as Rope.angles computes them
    final float[] sin;        // (N, Dh)
    final RoutingTrace trace;

    DecodeStep(KvCache cache, StepBatch batch, Rope rope, int headDim, RoutingTrace trace) {
        this.cache = cache;
        this.rows = batch.rows();
        this.position = new int[rows];
        this.kv = new KvRows[rows];
        this.cacheRow = new int[rows];
        this.threshold = new float[rows];
        this.cos = new float[rows * headDim];
        this.sin = new float[rows * headDim];
        this.trace = trace;
        for (int r = 0; r < rows; r++) {
            SequenceChunk chunk = batch.chunks().get(r);
            position[r] = chunk.pastLength();
            kv[r] = chunk.kv();
            cacheRow[r] = chunk.kv().row(chunk.pastLength());
            threshold[r] = chunk.threshold();
            rope.angles(position[r], cos, sin, r * headDim);
        }
    }
}
