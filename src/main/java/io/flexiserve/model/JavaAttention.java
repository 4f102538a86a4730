package io.flexiserve.model;

import io.flexiserve.model.cpu.GemmHelpers;
import io.flexiserve.model.cpu.NativeKernels;
import io.flexiserve.model.cpu.PanelLayout;
import io.flexiserve.model.cpu.VectorGemm;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static io.flexiserve.model.cpu.PanelLayout.FLOATS;

/**
 * {@link Attention} for the rows of a step on the Java path: keys and values written straight into the cache's
 * memory, and each row's query attending to its own sequence's cached rows up to its position
 * ({@code softmax(q K^T / sqrt(Dh)) V} per query head, query head {@code h} reading KV head {@code h / G} as HF's
 * repeat_kv, softmax in f32). Where the native kernel runs, every row goes to it, a chunk's rows (a decoded row, or a
 * prompt chunk's) one KV head at a time ({@link NativeKernels#attend}), so a row gets the same bits decoded or
 * prefilled; elsewhere (decoded rows only) each row's KV heads are attended in Java, each KV head's keys read once
 * for its G query heads. The cache is f16 exactly where the native kernel runs ({@link FlexiDepthModel#kvDtype}).
 * These units of work are shared out over {@link GemmHelpers#shared()} once there is enough of them to share.
 */
final class JavaAttention {

    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    /** Multiply-adds (both passes over keys and values) from which the work is split over the helpers. */
    private static final long PARALLEL_MIN_MACS = 1L << 19;

    private final VectorGemm qProj; // (H*Dh, D)
    private final VectorGemm kProj; // (Hkv*Dh, D)
    private final VectorGemm vProj; // (Hkv*Dh, D)
    private final VectorGemm oProj; // (D, H*Dh)
    private final int layer;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final float scale; // 1/sqrt(Dh), the value Attention multiplies by
    private final boolean natively; // whether NativeKernels.attend takes every row (else decoded rows in Java)

    /** Built by {@link Attention#javaForm}. */
    JavaAttention(int layer, ModelConfig config, VectorGemm qProj, VectorGemm kProj, VectorGemm vProj,
                  VectorGemm oProj) {
        this.layer = layer;
        this.heads = config.numHeads();
        this.kvHeads = config.numKvHeads();
        this.headDim = config.headDim();
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        this.natively = NativeKernels.attends(headDim);
        this.qProj = qProj;
        this.kProj = kProj;
        this.vProj = vProj;
        this.oProj = oProj;
    }

    /** k = RoPE(W_k h), v = W_v h for every row of the step, h: (N, D), written into the rows' cache rows. */
    void writeKeysValues(float[] h, JavaStep step) {
        float[] k = kProj.multiplyRows(h, step.rows); // (N, Hkv*Dh)
        float[] v = vProj.multiplyRows(h, step.rows);
        int width = kvHeads * headDim;
        for (int r = 0; r < step.rows; r++) {
            Rope.rotate(k, r * width, kvHeads, step.cos, step.sin, r * headDim, headDim);
        }
        if (step.cache.halves()) { // f16 rows, rounded as the tensor path's cast rounds
            ByteBuffer keys = step.cache.keyBytes(layer);
            ByteBuffer values = step.cache.valueBytes(layer);
            for (int r = 0; r < step.rows; r++) {
                NativeKernels.storeHalves(k, r * width, width, keys, (long) step.cacheRow[r] * width);
                NativeKernels.storeHalves(v, r * width, width, values, (long) step.cacheRow[r] * width);
            }
            return;
        }
        FloatBuffer keys = step.cache.keyBytes(layer).asFloatBuffer();
        FloatBuffer values = step.cache.valueBytes(layer).asFloatBuffer();
        for (int r = 0; r < step.rows; r++) {
            keys.put(step.cacheRow[r] * width, k, r * width, width);
            values.put(step.cacheRow[r] * width, v, r * width, width);
        }
    }

    /** W_o softmax(q K^T / sqrt(Dh)) V for the given rows of the step, h: (n, D) of those rows -> (n, D). */
    float[] forward(float[] h, int[] rows, JavaStep step) {
        int n = rows.length;
        int width = heads * headDim;
        float[] q = qProj.multiplyRows(h, n); // (n, H*Dh)
        long macs = 0;
        for (int i = 0; i < n; i++) {
            Rope.rotate(q, i * width, heads, step.cos, step.sin, rows[i] * headDim, headDim);
            macs += 2L * (step.position[rows[i]] + 1) * width;
        }
        for (int i = 0; i < n * width; i++) {
            q[i] *= scale;
        }
        float[] context = new float[n * width];
        ByteBuffer k = step.cache.keyBytes(layer);
        ByteBuffer v = step.cache.valueBytes(layer);
        List<Runnable> units = new ArrayList<>(); // rows of one chunk (a decoded row, or a prompt chunk's) and a KV head
        for (int i = 0; i < n; ) {
            int from = i;
            int to = i + 1;
            while (to < n && step.chunk[rows[to]] == step.chunk[rows[from]]) {
                to++;
            }
            if (natively) {
                int[] cacheRows = cacheRows(step.kv[rows[from]], step.position[rows[to - 1]] + 1);
                for (int j = 0; j < kvHeads; j++) {
                    int head = j;
                    int end = to;
                    units.add(() -> attendNatively(head, q, from, end, rows, cacheRows, k, v, step, context));
                }
            } else { // decoded rows only (JavaForward.accepts), from an f32 cache (FlexiDepthModel.kvDtype)
                for (int row = from; row < to; row++) {
                    int at = row * width;
                    int r = rows[row];
                    for (int j = 0; j < kvHeads; j++) {
                        int head = j;
                        units.add(() -> attendKvHead(head, q, at, k, v, step.kv[r], step.position[r] + 1, context));
                    }
                }
            }
            i = to;
        }
        GemmHelpers helpers = GemmHelpers.shared();
        int parts = macs < PARALLEL_MIN_MACS ? 1 : Math.min(helpers.threads(), units.size());
        AtomicInteger next = new AtomicInteger();
        helpers.run(parts, part -> {
            for (int u = next.getAndIncrement(); u < units.size(); u = next.getAndIncrement()) {
                units.get(u).run();
            }
        });
        return oProj.multiplyRows(context, n);
    }

    /** The cache rows of a sequence's positions [0, count). */
    private static int[] cacheRows(KvRows kv, int count) {
        int[] rows = new int[count];
        for (int t = 0; t < count; t++) {
            rows[t] = kv.row(t);
        }
        return rows;
    }

    /**
     * The G query heads of KV head j of rows [from, to) of q (rows of one chunk, in position order) on the native
     * kernel ({@link NativeKernels#attend}), each over its sequence's positions up to its own.
     */
    private void attendNatively(int j, float[] q, int from, int to, int[] rows, int[] cacheRows, ByteBuffer k,
                                ByteBuffer v, JavaStep step, float[] context) {
        int g = heads / kvHeads;
        int width = heads * headDim;
        int vectors = (to - from) * g;
        int[] at = new int[vectors];
        int[] keysOf = new int[vectors];
        for (int i = from; i < to; i++) {
            for (int h = 0; h < g; h++) {
                at[(i - from) * g + h] = i * width + (j * g + h) * headDim;
                keysOf[(i - from) * g + h] = step.position[rows[i]] + 1;
            }
        }
        NativeKernels.attend(k, v, step.cache.halves(), kvHeads * headDim, j * headDim, headDim, cacheRows, q, context,
                at, keysOf, vectors);
    }

    /**
     * The G query heads of KV head j of one row, whose query (and context) starts at {@code from}, over the cache
     * rows of its positions [0, keys).
     */
    private void attendKvHead(int j, float[] q, int from, ByteBuffer k, ByteBuffer v, KvRows kv, int keys,
                              float[] context) {
        int g = heads / kvHeads;
        int rowBytes = kvHeads * headDim * Float.BYTES;
        int head0 = from + j * g * headDim;
        float[] scores = new float[g * keys];
        for (int t = 0; t < keys; t++) {
            int at = kv.row(t) * rowBytes + j * headDim * Float.BYTES;
            for (int i = 0; i < g; i++) {
                scores[i * keys + t] = dot(q, head0 + i * headDim, k, at);
            }
        }
        for (int i = 0; i < g; i++) {
            softmax(scores, i * keys, keys);
        }
        for (int t = 0; t < keys; t++) {
            int at = kv.row(t) * rowBytes + j * headDim * Float.BYTES;
            for (int i = 0; i < g; i++) {
                addScaled(context, head0 + i * headDim, scores[i * keys + t], v, at);
            }
        }
    }

    private float dot(float[] q, int from, ByteBuffer keys, int at) {
        int d = 0;
        float sum = 0;
        if (headDim >= FLOATS.length()) {
            FloatVector acc = FloatVector.zero(FLOATS);
            for (int bound = FLOATS.loopBound(headDim); d < bound; d += FLOATS.length()) {
                acc = FloatVector.fromArray(FLOATS, q, from + d)
                        .fma(FloatVector.fromByteBuffer(FLOATS, keys, at + d * Float.BYTES, NATIVE), acc);
            }
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; d < headDim; d++) {
            sum += q[from + d] * keys.getFloat(at + d * Float.BYTES);
        }
        return sum;
    }

    /** context[from, from + Dh) += p * values row. */
    private void addScaled(float[] context, int from, float p, ByteBuffer values, int at) {
        int d = 0;
        if (headDim >= FLOATS.length()) {
            FloatVector pv = FloatVector.broadcast(FLOATS, p);
            for (int bound = FLOATS.loopBound(headDim); d < bound; d += FLOATS.length()) {
                FloatVector.fromByteBuffer(FLOATS, values, at + d * Float.BYTES, NATIVE)
                        .fma(pv, FloatVector.fromArray(FLOATS, context, from + d)).intoArray(context, from + d);
            }
        }
        for (; d < headDim; d++) {
            context[from + d] += p * values.getFloat(at + d * Float.BYTES);
        }
    }

    /** Softmax in place over scores[from, from + n), in f32 after subtracting the maximum. */
    private static void softmax(float[] scores, int from, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int t = from; t < from + n; t++) {
            max = Math.max(max, scores[t]);
        }
        float sum = 0;
        for (int t = from; t < from + n; t++) {
            scores[t] = (float) Math.exp(scores[t] - max);
            sum += scores[t];
        }
        for (int t = from; t < from + n; t++) {
            scores[t] /= sum;
        }
    }
}
