package io.flexiserve.model.checkpoint;

import java.nio.ByteBuffer;

/**
 * A 2-D tensor's rows read where they lie in the checkpoint's mapping, each widened to f32 as it is read: no copy of
 * the tensor is made, and only the pages of rows read are ever resident (clean file pages, which the kernel may drop
 * and read again). For a table looked up by row, the token embedding. Reads are thread-safe.
 */
public final class StoredRows {

    private final ByteBuffer[] chunks; // mapped, little-endian; chunk c holds rows [c * rowsPerChunk, ...)
    private final long rowsPerChunk;
    private final long rows;
    private final int cols;
    private final TensorDtype dtype;

    StoredRows(ByteBuffer[] chunks, long rowsPerChunk, long rows, int cols, TensorDtype dtype) {
        this.chunks = chunks;
        this.rowsPerChunk = rowsPerChunk;
        this.rows = rows;
        this.cols = cols;
        this.dtype = dtype;
    }

    public long rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** Row {@code row} widened to f32 into {@code out[offset, offset + cols)}. */
    public void read(long row, float[] out, int offset) {
        if (row < 0 || row >= rows) {
            throw new IndexOutOfBoundsException("row " + row + " of " + rows);
        }
        ByteBuffer chunk = chunks[(int) (row / rowsPerChunk)];
        int at = (int) (row % rowsPerChunk) * cols * dtype.bytes();
        switch (dtype) {
            case F32 -> {
                for (int c = 0; c < cols; c++) {
                    out[offset + c] = chunk.getFloat(at + 4 * c);
                }
            }
            case BF16 -> {
                for (int c = 0; c < cols; c++) {
                    out[offset + c] = TensorDtype.bf16ToFloat(chunk.getShort(at + 2 * c));
                }
            }
            case F16 -> {
                for (int c = 0; c < cols; c++) {
                    out[offset + c] = TensorDtype.halfToFloat(chunk.getShort(at + 2 * c));
                }
            }
            default -> throw new IllegalStateException(dtype.toString());
        }
    }
}
