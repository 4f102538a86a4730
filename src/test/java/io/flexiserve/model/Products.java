package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import java.util.Random;

/** Reference products for the kernel tests: {@code x W^T} in doubles, and seeded inputs. */
public final class Products {

    private Products() {
    }

    /** Largest |y - x W^T| over the (rows, out) result, the reference in doubles. */
    public static double maxError(NDArray y, float[] x, float[] w, int rows, int out, int in) {
        return maxError(y.toFloatArray(), x, w, rows, out, in);
    }

    /** As {@link #maxError(NDArray, float[], float[], int, int, int)} for a result already read out. */
    public static double maxError(float[] got, float[] x, float[] w, int rows, int out, int in) {
        double worst = 0;
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double sum = 0;
                for (int i = 0; i < in; i++) {
                    sum += (double) x[r * in + i] * w[o * in + i];
                }
                worst = Math.max(worst, Math.abs(sum - got[r * out + o]));
            }
        }
        return worst;
    }

    /** n draws of N(0, std^2). */
    public static float[] gaussian(Random random, int n, double std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (std * random.nextGaussian());
        }
        return a;
    }
}
