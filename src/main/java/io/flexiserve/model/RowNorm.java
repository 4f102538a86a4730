package io.flexiserve.model;

/**
 * {@link RmsNorm} for a single row, in Java: {@code x / sqrt(mean(x^2) + eps) * weight}, the statistics summed in
 * double.
 *
 * @param weight (D), or (R) for a router's norm
 */
record RowNorm(float[] weight, float eps) {

    /** The same norm as {@code norm}, its weight read out (an f32 weight: the row path runs only in f32). */
    static RowNorm of(RmsNorm norm) {
        return new RowNorm(norm.weight.toFloatArray(), norm.eps());
    }

    /** x: (n) -> a new (n). */
    float[] apply(float[] x) {
        double squares = 0;
        for (float v : x) {
            squares += (double) v * v;
        }
        float rms = (float) Math.sqrt((float) (squares / x.length) + eps);
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] / rms * weight[i];
        }
        return y;
    }
}
