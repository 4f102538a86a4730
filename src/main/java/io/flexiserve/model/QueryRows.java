package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * The rows of a step that compute queries in a layer (all rows in a plain layer, the RUN rows in a routed
 * one), with their RoPE angles and their attention groups: the selected rows of each chunk are contiguous
 * in the selection, and attend to their own sequence's cache rows up to their position.
 */
final class QueryRows {

    final NDArray index;        // (n) row indices into the step, or null for every row
    final Rope.Angles angles;   // (n, 1, Dh) each
    final List<Group> groups;

    private QueryRows(NDArray index, Rope.Angles angles, List<Group> groups) {
        this.index = index;
        this.angles = angles;
        this.groups = groups;
    }

    static QueryRows all(StepBatch batch, Rope.Angles angles, NDManager manager) {
        int[] rows = new int[batch.rows()];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = i;
        }
        return new QueryRows(null, angles, groups(batch, rows, manager));
    }

    /** The given ascending rows of the step. */
    static QueryRows subset(StepBatch batch, int[] rows, NDArray index, Rope.Angles allAngles, NDManager manager) {
        return new QueryRows(index, allAngles.select(index), groups(batch, rows, manager));
    }

    int size() {
        return groups.stream().mapToInt(g -> g.count).sum();
    }

    private static List<Group> groups(StepBatch batch, int[] rows, NDManager manager) {
        List<Group> groups = new ArrayList<>();
        int i = 0;
        for (int c = 0; c < batch.chunks().size() && i < rows.length; c++) {
            int last = batch.lastRow(c);
            int start = i;
            while (i < rows.length && rows[i] <= last) {
                i++;
            }
            if (i > start) {
                SequenceChunk chunk = batch.chunks().get(c);
                long[] positions = new long[i - start];
                for (int k = start; k < i; k++) {
                    positions[k - start] = chunk.pastLength() + rows[k] - batch.firstRow(c);
                }
                groups.add(new Group(start, i - start, chunk.kv(), positions, manager));
            }
        }
        return groups;
    }

    /**
     * The selected rows of one sequence: queries [start, start + count) of the selection, at the given
     * positions, attending to the cache rows of positions [0, keys).
     */
    static final class Group {
        private static final float MASKED = -1e30f;

        final int start;
        final int count;
        final KvRows kv;
        final int keys;           // T = last position + 1
        private final long[] positions;
        private final NDManager manager;

        Group(int start, int count, KvRows kv, long[] positions, NDManager manager) {
            this.start = start;
            this.count = count;
            this.kv = kv;
            this.positions = positions;
            this.keys = (int) positions[positions.length - 1] + 1;
            this.manager = manager;
        }

        /**
         * The keys of positions [0, keys) of a layer, (T, Hkv, Dh): a view when their rows are consecutive and the
         * cache stores the compute dtype (KvCache), else a copy.
         */
        NDArray keys(KvCache cache, int layer, int keys) {
            int from = kv.consecutiveFrom(keys);
            return from >= 0 ? cache.keys(layer, from, from + keys) : cache.keysAt(layer, rows(keys));
        }

        /** The values of positions [0, keys), as {@link #keys}. */
        NDArray values(KvCache cache, int layer, int keys) {
            int from = kv.consecutiveFrom(keys);
            return from >= 0 ? cache.values(layer, from, from + keys) : cache.valuesAt(layer, rows(keys));
        }

        private NDArray rows(int keys) {
            long[] rows = new long[keys];
            for (int p = 0; p < keys; p++) {
                rows[p] = kv.row(p);
            }
            return manager.create(rows);
        }

        /** Keys that queries [from, to) can see: up to the position of query {@code to - 1}. */
        int keysUpTo(int to) {
            return (int) positions[to - 1] + 1;
        }

        /** Queries [from, to) need a mask unless each sees every key up to the last one's position (a single query). */
        boolean needsMask(int from, int to) {
            return to - from > 1;
        }

        /**
         * Additive causal mask of queries [from, to) over {@code keys} keys, (to - from, keys) in float32: 0 where key j
         * is at or before the query's position, a huge negative number after it (DJL's {@code where} does not
         * broadcast, an addition does).
         */
        NDArray mask(int from, int to, int keys) {
            NDArray keyPos = manager.arange(0, keys, 1, DataType.INT64).reshape(1, keys);
            NDArray queryPos = manager.create(java.util.Arrays.copyOfRange(positions, from, to), new Shape(to - from, 1));
            return keyPos.gt(queryPos).toType(DataType.FLOAT32, false).mul(MASKED);
        }
    }
}
