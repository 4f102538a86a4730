package io.flexiserve.model;

import io.flexiserve.model.cpu.NativeKernels;
import io.flexiserve.model.cpu.VectorGemm;
import java.util.Arrays;

/**
 * {@link DecoderLayer} for the rows of a step on the Java path, on packed weights ({@link JavaForward}): the same
 * equations (docs/model.md section 3) on residual rows x (N, D), updated in place. A routed layer's router decides
 * for each row; every row writes its keys and values; the rows that run are gathered for attention and the MLP
 * (scaled by their gates), the rows that skip for the adapter (scaled by {@code 1 - w}), so a layer that every row
 * skips reads none of its q, o or MLP weights.
 */
final class JavaLayer {

    private final JavaNorm inputLayernorm;
    private final JavaAttention selfAttn;
    private final JavaNorm postAttentionLayernorm;
    private final SwiGluRows mlp;
    private final RouterRows router; // null in a plain layer
    private final SwiGluRows adapter; // null in a plain layer
    private final int routedIndex;

    /** Built by {@link DecoderLayer#javaForm}. */
    JavaLayer(JavaNorm inputLayernorm, JavaAttention selfAttn, JavaNorm postAttentionLayernorm,
              SwiGluRows mlp, RouterRows router, SwiGluRows adapter, int routedIndex) {
        this.inputLayernorm = inputLayernorm;
        this.selfAttn = selfAttn;
        this.postAttentionLayernorm = postAttentionLayernorm;
        this.mlp = mlp;
        this.router = router;
        this.adapter = adapter;
        this.routedIndex = routedIndex;
    }

    /** x: (N, D), the step's residual rows, through this layer in place. */
    void forward(float[] x, JavaStep step) {
        int n = step.rows;
        float[] h = inputLayernorm.apply(x);
        float[] w = new float[n];
        boolean[] run = new boolean[n];
        Arrays.fill(w, 1f); // a plain layer: every row runs, its MLP unscaled (times 1, exactly)
        Arrays.fill(run, true);
        if (router != null) {
            w = router.gates(h, n);
            for (int r = 0; r < n; r++) {
                run[r] = Router.runs(w[r], step.threshold[r]);
            }
            step.trace.record(routedIndex, w, run);
        }
        selfAttn.writeKeysValues(h, step);
        RowSet runs = RowSet.where(run);
        if (runs.size() > 0) {
            run(x, h, w, runs, step);
        }
        RowSet skips = RowSet.whereNot(run);
        if (skips.size() > 0) {
            skip(x, w, skips, n);
        }
    }

    /** The rows that run the layer: x' = x + W_o Attn(q); y = x' + w * MLP(RMSNorm_post(x')). */
    private void run(float[] x, float[] h, float[] w, RowSet rows, JavaStep step) {
        float[] xr = rows.gather(x, step.rows);
        add(xr, selfAttn.forward(rows.gather(h, step.rows), rows.rows(), step));
        float[] scale = new float[rows.size()];
        for (int i = 0; i < scale.length; i++) {
            scale[i] = w[rows.rows()[i]];
        }
        addScaled(xr, mlp.apply(postAttentionLayernorm.apply(xr), rows.size()), scale);
        rows.scatter(xr, x, step.rows);
    }

    /** The rows that skip it: y = x + (1 - w) * Adapter(RMSNorm_post(x)). */
    private void skip(float[] x, float[] w, RowSet rows, int n) {
        float[] xs = rows.gather(x, n);
        float[] keep = new float[rows.size()];
        for (int i = 0; i < keep.length; i++) {
            keep[i] = -w[rows.rows()[i]] + 1;
        }
        addScaled(xs, adapter.apply(postAttentionLayernorm.apply(xs), rows.size()), keep);
        rows.scatter(xs, x, n);
    }

    /** x += a, rows of the same width. */
    private static void add(float[] x, float[] a) {
        for (int c = 0; c < x.length; c++) {
            x[c] += a[c];
        }
    }

    /** x += a * s, row i of x and a scaled by s[i]. */
    private static void addScaled(float[] x, float[] a, float[] s) {
        int width = x.length / s.length;
        for (int i = 0; i < s.length; i++) {
            for (int c = i * width; c < (i + 1) * width; c++) {
                x[c] += a[c] * s[i];
            }
        }
    }

    /**
     * Scalar Math.exp, on purpose: the Vector API's EXP gives results an ulp apart in interpreted and C2-compiled
     * code (a fallback per lane against an SVML intrinsic), so a sequence's bits would depend on the JIT's state,
     * and a vectorised silu did not measurably speed up a step.
     */
    static float sigmoid(float z) {
        return (float) (1 / (1 + Math.exp(-z)));
    }

    /** Packs a router or adapter weight for the Java path. */
    @FunctionalInterface
    interface Packer {
        VectorGemm apply(Linear linear);
    }

    /** {@link SwiGlu} for rows: {@code out(silu(gate u) * value u)}. */
    record SwiGluRows(VectorGemm gate, VectorGemm value, VectorGemm out) {

        float[] apply(float[] u, int rows) {
            float[] g = gate.multiplyRows(u, rows);
            float[] v = value.multiplyRows(u, rows);
            if (NativeKernels.AVAILABLE) { // a prompt chunk's MLP has millions of gates: e^x vectorised
                NativeKernels.siluTimes(g, v, g.length);
            } else {
                for (int i = 0; i < g.length; i++) {
                    g[i] = g[i] * sigmoid(g[i]) * v[i];
                }
            }
            return out.multiplyRows(g, rows);
        }
    }

    /** {@link Router} for rows: {@code w = sigmoid(W_head W_dec tanh(RMSNorm_r(W_enc h)))}, one gate per row. */
    record RouterRows(VectorGemm enc, JavaNorm norm, VectorGemm dec, VectorGemm head) {

        float[] gates(float[] h, int rows) {
            float[] z = norm.apply(enc.multiplyRows(h, rows));
            for (int i = 0; i < z.length; i++) {
                z[i] = (float) Math.tanh(z[i]);
            }
            float[] logits = head.multiplyRows(dec == null ? z : dec.multiplyRows(z, rows), rows); // (N, 1)
            for (int r = 0; r < rows; r++) {
                logits[r] = sigmoid(logits[r]);
            }
            return logits;
        }
    }
}
