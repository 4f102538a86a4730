package io.flexiserve.model;

/**
 * {@link RmsNorm} for rows in Java arrays: {@code x / sqrt(mean(x^2) + eps) * weight} per row, the statistics
 * summed in double.
 *
 * @param weight (D), or (R) for a router's norm
 */
record JavaNorm(float[] weight, float eps) {

    /** The same norm as {@code norm}, its weight read out (an f32 weight: the row path runs only in f32). */
    static JavaNorm of(RmsNorm norm) {
        return new JavaNorm(norm.weight.toFloatArray(), norm.eps());
    }

    /** x: (N, n) row-major, n being the weight's length -> a new (N, n), each row normed by its own statistics. */
    float[] apply(float[] x) {
        int n = weight.length;
        float[] y = new float[x.length];
        for (int from = 0; from < x.length; from += n) {
            double squares = 0;
            for (int i = from; i < from + n; i++) {
                squares += (double) x[i] * x[i];
            }
            float rms = (float) Math.sqrt((float) (squares / n) + eps);
            for (int i = 0; i < n; i++) {
                y[from + i] = x[from + i] / rms * weight[i];
            }
        }
        return y;
    }
}
