package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.flexiserve.model.checkpoint.StoredRows;

/**
 * The token embedding (V, D), looked up by row. On the Java kernels it is read where it lies in the checkpoint's
 * mapping, each row widened to f32 as it is looked up: no copy (an f16 one held 1.05 GB at the release's shape), and
 * only the rows of tokens seen are resident, as file pages the kernel may drop. Elsewhere (libtorch's kernels, the
 * GPU, training) it is a tensor in the activations' dtype.
 */
final class Embedding {

    private final NDArray table;     // (V, D), or null when stored
    private final StoredRows stored; // the checkpoint's rows, or null when a tensor
    private final int width;

    private Embedding(NDArray table, StoredRows stored, int width) {
        this.table = table;
        this.stored = stored;
        this.width = width;
    }

    /** A tensor (V, D). */
    static Embedding of(NDArray table) {
        return new Embedding(table, null, (int) table.getShape().get(1));
    }

    /** The checkpoint's own rows, read in place. */
    static Embedding stored(StoredRows rows) {
        return new Embedding(null, rows, rows.cols());
    }

    /** The rows of {@code tokens}: (N, D) in {@code dtype}, created in {@code manager} (and the current scope). */
    NDArray lookup(NDManager manager, long[] tokens, DataType dtype) {
        NDArray rows;
        if (table != null) {
            try (NDArray ids = manager.create(tokens)) {
                rows = table.get(ids);
            }
        } else {
            float[] x = new float[tokens.length * width];
            for (int r = 0; r < tokens.length; r++) {
                stored.read(tokens[r], x, r * width);
            }
            rows = manager.create(x, new Shape(tokens.length, width));
        }
        return rows.getDataType() == dtype ? rows : rows.toType(dtype, false);
    }

    /** The row of {@code token} widened to f32 into {@code out[offset, offset + D)}. */
    void row(int token, float[] out, int offset) {
        if (stored != null) {
            stored.read(token, out, offset);
            return;
        }
        try (NDArray row = table.get(token); NDArray wide = row.toType(DataType.FLOAT32, true)) {
            System.arraycopy(wide.toFloatArray(), 0, out, offset, width);
        }
    }

    /** Whether the rows live on a GPU (the Java path does not apply). */
    boolean onGpu() {
        return table != null && table.getDevice().isGpu();
    }

    /** The tensor, or null when the rows are read from the checkpoint. */
    NDArray table() {
        return table;
    }
}
