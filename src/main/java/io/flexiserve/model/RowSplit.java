package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/** The RUN/SKIP decision of one routed layer for the rows of a step, and the index arrays to gather and scatter them. */
final class RowSplit {

    private final int[] runRows;
    private final int[] skipRows;

    private RowSplit(int[] runRows, int[] skipRows) {
        this.runRows = runRows;
        this.skipRows = skipRows;
    }

    /** Each row's decision ({@link Router#runs}); records it in the step's trace. */
    static RowSplit decide(NDArray gate, StepContext step, int routedIndex) {
        float[] w = gate.toType(DataType.FLOAT32, false).toFloatArray();
        boolean[] run = new boolean[w.length];
        for (int row = 0; row < w.length; row++) {
            run[row] = Router.runs(w[row], step.batch.threshold(row));
        }
        step.trace.record(routedIndex, w, run);
        return new RowSplit(RowSet.where(run).rows(), RowSet.whereNot(run).rows()); // the Java path's partition
    }

    boolean allRun() {
        return skipRows.length == 0;
    }

    boolean allSkip() {
        return runRows.length == 0;
    }

    int[] runRows() {
        return runRows;
    }

    long[] skipRowsAsLong() {
        long[] rows = new long[skipRows.length];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = skipRows[i];
        }
        return rows;
    }

    /** For the rows [run..., skip...] stacked in that order, where each original row now sits. */
    long[] inversePermutation() {
        long[] inverse = new long[runRows.length + skipRows.length];
        for (int i = 0; i < runRows.length; i++) {
            inverse[runRows[i]] = i;
        }
        for (int i = 0; i < skipRows.length; i++) {
            inverse[skipRows[i]] = runRows.length + i;
        }
        return inverse;
    }
}
