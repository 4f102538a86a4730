package io.flexiserve.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * An independent float-array reference of docs/model.md, written straight from the equations: one
 * sequence at a time, every position recomputed, double accumulators. It reads an F32 model.safetensors
 * with its own parser, so the loader under test is not involved.
 */
final class NaiveModel {

    final ModelConfig c;
    private final Map<String, float[]> w = new HashMap<>();
    private final boolean halfKv; // keys and values rounded to f16, as a cache of f16 rows holds them

    NaiveModel(Path dir) throws IOException {
        this(dir, false);
    }

    /** With {@code halfKv}, each key and value is rounded to f16 before attention reads it (FlexiDepthModel.kvDtype). */
    NaiveModel(Path dir, boolean halfKv) throws IOException {
        this.halfKv = halfKv;
        this.c = ModelConfig.read(dir);
        byte[] bytes = Files.readAllBytes(dir.resolve("model.safetensors"));
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen = (int) buf.getLong(0);
        JsonNode header = new ObjectMapper().readTree(new String(bytes, 8, headerLen, java.nio.charset.StandardCharsets.UTF_8));
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            long begin = e.getValue().get("data_offsets").get(0).asLong();
            long end = e.getValue().get("data_offsets").get(1).asLong();
            float[] data = new float[(int) ((end - begin) / 4)];
            for (int i = 0; i < data.length; i++) {
                data[i] = buf.getFloat((int) (8 + headerLen + begin + 4L * i));
            }
            w.put(e.getKey(), data);
        }
    }

    /** Output of a whole-sequence forward: last-row logits, per position the layers used and per routed layer the gates. */
    record Output(float[] logits, int[] layersUsed, double[][] gates, double[][][] keys, double[] lastHidden) {
    }

    /** Runs the whole sequence with per-position thresholds; logits are for the last position. */
    Output forward(int[] tokens, float[] thresholds) {
        return forward(tokens, thresholds, c.numLayers());
    }

    /** As {@link #forward(int[], float[])}, stopping after {@code layerCount} layers (logits are then meaningless). */
    Output forward(int[] tokens, float[] thresholds, int layerCount) {
        int n = tokens.length;
        int d = c.hiddenSize();
        double[][] x = new double[n][];
        for (int t = 0; t < n; t++) {
            x[t] = row(w("model.embed_tokens.weight"), tokens[t], d);
        }
        int[] used = new int[n];
        double[][] gates = new double[c.routingLayers().size()][n];
        double[][][] keys = new double[c.numLayers()][][];
        for (int l = 0; l < layerCount; l++) {
            String p = "model.layers." + l + ".";
            double[][] h = new double[n][];
            double[][] k = new double[n][];
            double[][] v = new double[n][];
            for (int t = 0; t < n; t++) {
                h[t] = rmsNorm(x[t], w(p + "input_layernorm.weight"));
                k[t] = stored(rope(matvec(w(p + "self_attn.k_proj.weight"), h[t], c.numKvHeads() * c.headDim()), t));
                v[t] = stored(matvec(w(p + "self_attn.v_proj.weight"), h[t], c.numKvHeads() * c.headDim()));
            }
            keys[l] = k;
            int routedIndex = c.routingLayers().indexOf(l);
            double[][] y = new double[n][];
            for (int t = 0; t < n; t++) {
                double gate = routedIndex < 0 ? 1 : router(p, h[t]);
                boolean run = routedIndex < 0 || gate > thresholds[t];
                if (routedIndex >= 0) {
                    gates[routedIndex][t] = gate;
                }
                if (run) {
                    used[t]++;
                    double[] attended = add(x[t], matvec(w(p + "self_attn.o_proj.weight"), attention(p, h[t], k, v, t), d));
                    double[] mlp = swiglu(w(p + "mlp.gate_proj.weight"), w(p + "mlp.up_proj.weight"), w(p + "mlp.down_proj.weight"),
                            rmsNorm(attended, w(p + "post_attention_layernorm.weight")), c.intermediateSize());
                    y[t] = add(attended, scale(mlp, gate));
                } else {
                    double[] adapter = swiglu(w(p + "router_proj.gate_proj.weight"), w(p + "router_proj.down_proj.weight"),
                            w(p + "router_proj.up_proj.weight"), rmsNorm(x[t], w(p + "post_attention_layernorm.weight")),
                            c.adapterDim());
                    y[t] = add(x[t], scale(adapter, 1 - gate));
                }
            }
            x = y;
        }
        double[] last = rmsNorm(x[n - 1], w("model.norm.weight"));
        double[] logits = matvec(w("lm_head.weight"), last, c.vocabSize());
        float[] out = new float[logits.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) logits[i];
        }
        return new Output(out, used, gates, keys, x[n - 1]);
    }

    Output forward(int[] tokens, float threshold) {
        float[] thresholds = new float[tokens.length];
        java.util.Arrays.fill(thresholds, threshold);
        return forward(tokens, thresholds);
    }

    private double router(String p, double[] h) {
        double[] z = matvec(w(p + "router.router_enc.weight"), h, c.routerDim());
        z = rmsNorm(z, w(p + "router.router_norm.weight"));
        for (int i = 0; i < z.length; i++) {
            z[i] = Math.tanh(z[i]);
        }
        double logit = matvec(w(p + "router.router_head.weight"), matvec(w(p + "router.router_dec.weight"), z, c.hiddenSize()), 1)[0];
        return 1 / (1 + Math.exp(-logit));
    }

    /** A key or value as the cache holds it: as computed, or each element rounded to f16. */
    private double[] stored(double[] x) {
        if (halfKv) {
            for (int i = 0; i < x.length; i++) {
                x[i] = half(x[i]);
            }
        }
        return x;
    }

    /** x rounded to the nearest f16 value, ties to even (as a cast to f16 rounds); past 65504 infinity. */
    static double half(double x) {
        double a = Math.abs(x);
        if (a == 0 || Double.isNaN(a)) {
            return x;
        }
        if (a >= 65520) {
            return Math.copySign(Double.POSITIVE_INFINITY, x);
        }
        double ulp = Math.scalb(1.0, Math.max(Math.getExponent(a), -14) - 10); // subnormals share 2^-24
        return Math.copySign(Math.rint(a / ulp) * ulp, x); // rint: ties to even
    }

    /** Causal GQA attention of position t's query over keys 0..t; query head hq reads KV head hq / G. */
    private double[] attention(String p, double[] h, double[][] k, double[][] v, int t) {
        int dh = c.headDim();
        int g = c.numHeads() / c.numKvHeads();
        double[] q = rope(matvec(w(p + "self_attn.q_proj.weight"), h, c.numHeads() * dh), t);
        double[] out = new double[c.numHeads() * dh];
        for (int hq = 0; hq < c.numHeads(); hq++) {
            int hk = hq / g;
            double[] scores = new double[t + 1];
            double max = Double.NEGATIVE_INFINITY;
            for (int s = 0; s <= t; s++) {
                double dot = 0;
                for (int i = 0; i < dh; i++) {
                    dot += q[hq * dh + i] * k[s][hk * dh + i];
                }
                scores[s] = dot / Math.sqrt(dh);
                max = Math.max(max, scores[s]);
            }
            double sum = 0;
            for (int s = 0; s <= t; s++) {
                scores[s] = Math.exp(scores[s] - max);
                sum += scores[s];
            }
            for (int s = 0; s <= t; s++) {
                for (int i = 0; i < dh; i++) {
                    out[hq * dh + i] += scores[s] / sum * v[s][hk * dh + i];
                }
            }
        }
        return out;
    }

    /** rotate_half RoPE on every head of x at position pos. */
    double[] rope(double[] x, int pos) {
        int dh = c.headDim();
        int half = dh / 2;
        double[] out = x.clone();
        for (int head = 0; head < x.length / dh; head++) {
            for (int i = 0; i < half; i++) {
                double angle = pos * inverseFrequency(i);
                double a = x[head * dh + i];
                double b = x[head * dh + half + i];
                out[head * dh + i] = a * Math.cos(angle) - b * Math.sin(angle);
                out[head * dh + half + i] = b * Math.cos(angle) + a * Math.sin(angle);
            }
        }
        return out;
    }

    /** theta^(-2i/Dh), with Llama 3.1's wavelength-banded scaling when configured (HF _compute_llama3_parameters). */
    double inverseFrequency(int i) {
        double f = Math.pow(c.ropeTheta(), -2.0 * i / c.headDim());
        RopeScaling s = c.ropeScaling();
        if (s == null) {
            return f;
        }
        double wavelen = 2 * Math.PI / f;
        double lowFreqWavelen = s.originalMaxPositions() / s.lowFreqFactor();
        double highFreqWavelen = s.originalMaxPositions() / s.highFreqFactor();
        if (wavelen < highFreqWavelen) {
            return f;
        }
        if (wavelen > lowFreqWavelen) {
            return f / s.factor();
        }
        double smooth = (s.originalMaxPositions() / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
        return (1 - smooth) * f / s.factor() + smooth * f;
    }

    double[] rmsNorm(double[] x, float[] weight) {
        double sq = 0;
        for (double v : x) {
            sq += v * v;
        }
        double inv = 1 / Math.sqrt(sq / x.length + c.rmsNormEps());
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * inv * weight[i];
        }
        return out;
    }

    /** out(silu(gate x) * value x). */
    static double[] swiglu(float[] gate, float[] value, float[] out, double[] x, int hidden) {
        double[] g = matvec(gate, x, hidden);
        double[] u = matvec(value, x, hidden);
        for (int i = 0; i < hidden; i++) {
            g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
        }
        return matvec(out, g, out.length / hidden);
    }

    /** W x for W stored [out, in] row-major. */
    static double[] matvec(float[] weight, double[] x, int out) {
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double acc = 0;
            for (int i = 0; i < x.length; i++) {
                acc += weight[o * x.length + i] * x[i];
            }
            y[o] = acc;
        }
        return y;
    }

    float[] w(String name) {
        float[] t = w.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor " + name);
        }
        return t;
    }

    private static double[] row(float[] matrix, int r, int width) {
        double[] out = new double[width];
        for (int i = 0; i < width; i++) {
            out[i] = matrix[r * width + i];
        }
        return out;
    }

    private static double[] add(double[] a, double[] b) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i] + b[i];
        }
        return out;
    }

    private static double[] scale(double[] a, double s) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i] * s;
        }
        return out;
    }
}
