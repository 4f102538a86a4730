package io.flexiserve.model;

import java.util.Arrays;

/**
 * Where a sequence's tokens live in the {@link KvCache}: the row of position p. Either one contiguous range, or
 * blocks of a fixed number of rows listed in a block table (the engine's paged cache, where blocks are handed out
 * as tokens arrive and a cached prefix's blocks are shared between sequences).
 */
public sealed interface KvRows permits KvRows.Contiguous, KvRows.Paged {

    /** The cache row of position {@code position}. */
    int row(int position);

    /** The first row when positions [0, count) sit in consecutive rows (their keys are then one view), else -1. */
    int consecutiveFrom(int count);

    /** Rows [offset, offset + ...): position p at row offset + p. */
    record Contiguous(int offset) implements KvRows {

        @Override
        public int row(int position) {
            return offset + position;
        }

        @Override
        public int consecutiveFrom(int count) {
            return offset;
        }
    }

    /**
     * Position p at row {@code blocks[p / blockSize] * blockSize + p % blockSize}; the table covers at least every
     * position the step reads or writes.
     *
     * @param blockSize a power of two
     */
    record Paged(int[] blocks, int blockSize) implements KvRows {

        public Paged {
            if (Integer.bitCount(blockSize) != 1) {
                throw new IllegalArgumentException("the block size must be a power of two, got " + blockSize);
            }
        }

        @Override
        public int row(int position) {
            int shift = Integer.numberOfTrailingZeros(blockSize);
            return (blocks[position >>> shift] << shift) | (position & (blockSize - 1));
        }

        @Override
        public int consecutiveFrom(int count) {
            int used = (count + blockSize - 1) / blockSize;
            for (int b = 1; b < used; b++) {
                if (blocks[b] != blocks[0] + b) {
                    return -1;
                }
            }
            return blocks[0] * blockSize;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Paged p && p.blockSize == blockSize && Arrays.equals(p.blocks, blocks);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(blocks) + blockSize;
        }

        @Override
        public String toString() {
            return "Paged" + Arrays.toString(blocks) + "x" + blockSize;
        }
    }
}
