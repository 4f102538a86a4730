package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** What every layer of one forward step shares: the batch, its row tensors, the cache and the routing trace. */
final class StepContext {

    final StepBatch batch;
    final KvCache cache;
    final RoutingTrace trace;
    final NDManager manager;
    final NDArray cacheRows;        // (N) the cache row each token writes
    final Rope.Angles angles;       // (N, 1, Dh) each
    final QueryRows allRows;

    StepContext(StepBatch batch, KvCache cache, RoutingTrace trace, NDManager manager, Rope rope) {
        this.batch = batch;
        this.cache = cache;
        this.trace = trace;
        this.manager = manager;
        this.cacheRows = manager.create(batch.cacheRows());
        this.angles = rope.at(manager.create(batch.positions()));
        this.allRows = QueryRows.all(batch, angles, manager);
    }

    /** The given ascending rows as an index tensor and as attention query rows. */
    QueryRows select(int[] rows) {
        long[] asLong = new long[rows.length];
        for (int i = 0; i < rows.length; i++) {
            asLong[i] = rows[i];
        }
        return QueryRows.subset(batch, rows, manager.create(asLong), angles, manager);
    }
}
