package io.flexiserve.model;

import java.util.List;

/**
 * The token rows of one forward step: the chunks of several sequences, concatenated in order, so each
 * chunk's rows are contiguous. Derived row arrays (N) are computed once here.
 */
public final class StepBatch {

    private final List<SequenceChunk> chunks;
    private final int[] firstRow;   // per chunk
    private final long[] tokens;    // (N)
    private final long[] positions; // (N)
    private final long[] cacheRows; // (N) KV cache row each token writes
    private final float[] thresholds; // (N)

    public StepBatch(List<SequenceChunk> chunks) {
        if (chunks.isEmpty()) {
            throw new IllegalArgumentException("a step needs at least one chunk");
        }
        this.chunks = List.copyOf(chunks);
        int n = chunks.stream().mapToInt(c -> c.tokens().length).sum();
        this.firstRow = new int[chunks.size()];
        this.tokens = new long[n];
        this.positions = new long[n];
        this.cacheRows = new long[n];
        this.thresholds = new float[n];
        int row = 0;
        for (int c = 0; c < chunks.size(); c++) {
            SequenceChunk chunk = chunks.get(c);
            firstRow[c] = row;
            for (int i = 0; i < chunk.tokens().length; i++, row++) {
                tokens[row] = chunk.tokens()[i];
                positions[row] = chunk.pastLength() + i;
                cacheRows[row] = chunk.kv().row((int) positions[row]);
                thresholds[row] = chunk.threshold();
            }
        }
    }

    public static StepBatch of(SequenceChunk... chunks) {
        return new StepBatch(List.of(chunks));
    }

    public List<SequenceChunk> chunks() {
        return chunks;
    }

    /** N, the number of token rows. */
    public int rows() {
        return tokens.length;
    }

    public int firstRow(int chunk) {
        return firstRow[chunk];
    }

    public int lastRow(int chunk) {
        return firstRow[chunk] + chunks.get(chunk).tokens().length - 1;
    }

    long[] tokens() {
        return tokens;
    }

    long[] positions() {
        return positions;
    }

    long[] cacheRows() {
        return cacheRows;
    }

    float threshold(int row) {
        return thresholds[row];
    }
}
