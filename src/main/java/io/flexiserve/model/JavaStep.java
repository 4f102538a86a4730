package io.flexiserve.model;

/**
 * What every layer of a step on the Java path shares ({@link JavaForward}): for each row (a decoded token, or one
 * of a prompt chunk's tokens), its chunk, where it sits in its sequence and in the KV cache, its routing cut and its
 * RoPE angles; the cache; and the step's routing trace. A chunk's rows are consecutive, in position order.
 */
final class JavaStep {

    final KvCache cache;
    final int rows;           // N
    final int[] chunk;        // (N) each row's chunk of the batch
    final int[] position;     // (N) each row's position in its sequence: it attends to positions 0..position
    final KvRows[] kv;        // (N) where its sequence's tokens sit in the cache
    final int[] cacheRow;     // (N) the cache row it writes: its position's
    final float[] threshold;  // (N) a routed layer runs for the row when its gate exceeds this
    final float[] cos;        // (N, Dh) RoPE angles of each row's position, as Rope.angles computes them
    final float[] sin;        // (N, Dh)
    final RoutingTrace trace;

    JavaStep(KvCache cache, StepBatch batch, Rope rope, int headDim, RoutingTrace trace) {
        this.cache = cache;
        this.rows = batch.rows();
        this.chunk = new int[rows];
        this.position = new int[rows];
        this.kv = new KvRows[rows];
        this.cacheRow = new int[rows];
        this.threshold = new float[rows];
        this.cos = new float[rows * headDim];
        this.sin = new float[rows * headDim];
        this.trace = trace;
        int r = 0;
        for (int c = 0; c < batch.chunks().size(); c++) {
            SequenceChunk part = batch.chunks().get(c);
            for (int i = 0; i < part.tokens().length; i++, r++) {
                chunk[r] = c;
                position[r] = part.pastLength() + i;
                kv[r] = part.kv();
                cacheRow[r] = part.kv().row(position[r]);
                threshold[r] = part.threshold();
                rope.angles(position[r], cos, sin, r * headDim);
            }
        }
    }
}
