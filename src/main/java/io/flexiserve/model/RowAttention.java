package io.flexiserve.model;

import static io.flexiserve.model.PanelLayout.FLOATS;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * {@link Attention} for a single token row, in Java: keys and values written straight into the cache's memory, and
 * one query attending to its sequence's cached rows ({@code softmax(q K^T / sqrt(Dh)) V} per query head, query head
 * {@code h} reading KV head {@code h / G} as HF's repeat_kv, softmax in f32). Each KV head's keys are read once for
 * its G query heads; long contexts split the KV heads over {@link GemmHelpers#shared()}.
 */
final class RowAttention {

    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    /** Multiply-adds (both passes over the keys and values) from which the KV heads are split over the helpers. */
    private static final long PARALLEL_MIN_MACS = 1L << 19;

    final VectorGemm qProj; // (H*Dh, D)
    final VectorGemm kProj; // (Hkv*Dh, D)
    final VectorGemm vProj; // (Hkv*Dh, D)
    final VectorGemm oProj; // (D, H*Dh)
    private final int layer;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final float scale; // 1/sqrt(Dh), the value Attention multiplies by
    private final Rope rope;

    RowAttention(int layer, ModelConfig config, Rope rope, Attention attention) {
        this.layer = layer;
        this.heads = config.numHeads();
        this.kvHeads = config.numKvHeads();
        this.headDim = config.headDim();
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        this.rope = rope;
        this.qProj = attention.qProj.packedWeight();
        this.kProj = attention.kProj.packedWeight();
        this.vProj = attention.vProj.packedWeight();
        this.oProj = attention.oProj.packedWeight();
    }

    /** k = RoPE(W_k h), v = W_v h at the row's position, written into the cache row. */
    void writeKeysValues(float[] h, RowStep step) {
        float[] k = kProj.multiplyRow(h);
        float[] v = vProj.multiplyRow(h);
        rope.rotate(k, kvHeads, step.position, step.cos, step.sin);
        int width = kvHeads * headDim;
        step.cache.keyBytes(layer).asFloatBuffer().put(step.cacheRow * width, k, 0, width);
        step.cache.valueBytes(layer).asFloatBuffer().put(step.cacheRow * width, v, 0, width);
    }

    /** W_o softmax(q K^T / sqrt(Dh)) V for the row, h: (D) -> (D). */
    float[] forward(float[] h, RowStep step) {
        float[] q = qProj.multiplyRow(h);
        rope.rotate(q, heads, step.position, step.cos, step.sin);
        for (int i = 0; i < heads * headDim; i++) {
            q[i] *= scale;
        }
        float[] context = new float[heads * headDim];
        int keys = step.position + 1;
        ByteBuffer k = step.cache.keyBytes(layer);
        ByteBuffer v = step.cache.valueBytes(layer);
        GemmHelpers helpers = GemmHelpers.shared();
        int parts = 2L * keys * heads * headDim < PARALLEL_MIN_MACS ? 1 : Math.min(helpers.threads(), kvHeads);
        float[][] scores = new float[parts][(heads / kvHeads) * keys];
        helpers.run(parts, part -> {
            for (int j = kvHeads * part / parts; j < kvHeads * (part + 1) / parts; j++) {
                attendKvHead(j, q, k, v, step.kvOffset, keys, scores[part], context);
            }
        });
        return oProj.multiplyRow(context);
    }

    /** The G query heads of KV head j over keys rows [kvOffset, kvOffset + keys): their context rows. */
    private void attendKvHead(int j, float[] q, ByteBuffer k, ByteBuffer v, int kvOffset, int keys, float[] scores,
                              float[] context) {
        int g = heads / kvHeads;
        int rowBytes = kvHeads * headDim * Float.BYTES;
        int head0 = j * g;
        for (int t = 0; t < keys; t++) {
            int at = (kvOffset + t) * rowBytes + j * headDim * Float.BYTES;
            for (int i = 0; i < g; i++) {
                scores[i * keys + t] = dot(q, (head0 + i) * headDim, k, at);
            }
        }
        for (int i = 0; i < g; i++) {
            softmax(scores, i * keys, keys);
        }
        for (int t = 0; t < keys; t++) {
            int at = (kvOffset + t) * rowBytes + j * headDim * Float.BYTES;
            for (int i = 0; i < g; i++) {
                addScaled(context, (head0 + i) * headDim, scores[i * keys + t], v, at);
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

    /** context[from..from+Dh) += p * values row. */
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
