package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embedding in HF's "rotate_half" convention (dimension i pairs with i + Dh/2):
 * {@code x' = x cos(p f) + rotate_half(x) sin(p f)}, {@code rotate_half([x1, x2]) = [-x2, x1]}. Tables are
 * computed once in float32 as HF does (optionally with llama3 frequency scaling) and cast to the compute
 * dtype.
 */
final class Rope {

    private final float[] invFreq;  // (Dh / 2)
    private final NDArray cosTable; // (P, Dh)
    private final NDArray sinTable; // (P, Dh)
    private final NDIndex firstHalf;
    private final NDIndex secondHalf;

    Rope(NDManager manager, ModelConfig config, int maxPositions, DataType dtype) {
        int dh = config.headDim();
        int half = dh / 2;
        this.invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            invFreq[i] = (float) (1.0 / Math.pow(config.ropeTheta(), (float) (2 * i) / dh));
            if (config.ropeScaling() != null) {
                invFreq[i] = config.ropeScaling().apply(invFreq[i]);
            }
        }
        float[] cos = new float[maxPositions * dh];
        float[] sin = new float[maxPositions * dh];
        for (int p = 0; p < maxPositions; p++) {
            angles(p, cos, sin, p * dh);
        }
        Shape shape = new Shape(maxPositions, dh);
        this.cosTable = manager.create(cos, shape).toType(dtype, false);
        this.sinTable = manager.create(sin, shape).toType(dtype, false);
        this.firstHalf = new NDIndex(":, :, :{}", half);
        this.secondHalf = new NDIndex(":, :, {}:", half);
    }

    /** cos and sin of position p's angles into {@code cos}/{@code sin} from {@code at}: Dh each, both halves alike. */
    void angles(int position, float[] cos, float[] sin, int at) {
        int half = invFreq.length;
        for (int i = 0; i < half; i++) {
            float angle = position * invFreq[i];
            float c = (float) Math.cos(angle);
            float s = (float) Math.sin(angle);
            cos[at + i] = c;
            cos[at + half + i] = c;
            sin[at + i] = s;
            sin[at + half + i] = s;
        }
    }

    /**
     * Rotates one row in Java, x[from, from + heads * Dh), by angles from {@link #angles} (Dh each, read from
     * {@code at}), with the f32 tables' values and the same operations as {@link #apply}, element by element.
     */
    static void rotate(float[] x, int from, int heads, float[] cos, float[] sin, int at, int dh) {
        int half = dh / 2;
        for (int o = from; o < from + heads * dh; o += dh) {
            for (int i = 0; i < half; i++) {
                float first = x[o + i];
                float second = x[o + half + i];
                x[o + i] = first * cos[at + i] + -second * sin[at + i];
                x[o + half + i] = second * cos[at + half + i] + first * sin[at + half + i];
            }
        }
    }

    int maxPositions() {
        return (int) cosTable.getShape().get(0);
    }

    /** The cos and sin rows for the given positions: positions (N) -> (N, 1, Dh) each, ready to broadcast over heads. */
    Angles at(NDArray positions) {
        return new Angles(cosTable.get(positions).expandDims(1), sinTable.get(positions).expandDims(1));
    }

    /** Rotates x: (N, heads, Dh) by the angles of its rows. */
    NDArray apply(NDArray x, Angles angles) {
        NDArray rotated = x.get(secondHalf).neg().concat(x.get(firstHalf), -1);
        return x.mul(angles.cos()).add(rotated.mul(angles.sin()));
    }

    /** cos and sin for a set of rows, (N, 1, Dh) each. */
    record Angles(NDArray cos, NDArray sin) {

        Angles select(NDArray rows) {
            return new Angles(cos.get(rows), sin.get(rows));
        }
    }
}
