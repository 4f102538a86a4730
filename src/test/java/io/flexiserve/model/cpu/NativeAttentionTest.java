package io.flexiserve.model.cpu;

import io.flexiserve.model.checkpoint.TensorDtype;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The native attention and SwiGLU kernels ({@link NativeKernels#attend}, {@link NativeKernels#siluTimes}) against
 * the same sums in doubles, on a cache of f32 or f16 rows whose sequence sits in scattered rows (paged) next to other
 * heads' values.
 */
class NativeAttentionTest {

    private static final int KV_HEADS = 3;
    private static final int CACHE_ROWS = 700;

    @BeforeEach
    void nativeKernels() {
        assumeTrue(NativeKernels.AVAILABLE, "no native kernels here: prompt chunks stay on libtorch tensors");
    }

    @Test
    void eachQueryAttendsToItsOwnPositionsAsTheDefinitionSays() {
        for (boolean halves : new boolean[] {false, true}) {
            for (int dh : new int[] {16, 32, 64, 128}) {
                for (int g : new int[] {1, 4}) {
                    assertAttention(halves, dh, g, 0, 37, 11L * dh + g);  // a prompt chunk from 0, not a multiple of 16
                    assertAttention(halves, dh, g, 300, 21, 13L * dh + g); // a later chunk: 300 positions before it
                    assertAttention(halves, dh, g, 300, 1, 17L * dh + g);  // a decoded row: the cache read in place
                }
            }
            assertAttention(halves, 64, 4, 0, 1, 5);   // one row
            assertAttention(halves, 64, 4, 15, 2, 6);  // keys ending exactly on a block of 16
        }
    }

    @Test
    void aRowGetsTheSameBitsWhateverRowsCameWithIt() {
        for (boolean halves : new boolean[] {false, true}) {
            int dh = 64;
            int g = 4;
            Cache cache = new Cache(halves, dh, 7);
            int rows = 50;
            float[] q = queries(rows, g, dh, 8);
            float[] whole = attend(cache, q, g, dh, 100, 0, rows);
            float[] parts = new float[whole.length];
            // other groupings of the same rows, one a lone row (read from the cache in place, as a decoded row)
            for (int[] range : new int[][] {{0, 3}, {3, 20}, {20, 21}, {21, 50}}) {
                float[] part = attend(cache, q, g, dh, 100, range[0], range[1]);
                int width = KV_HEADS * g * dh;
                System.arraycopy(part, range[0] * width, parts, range[0] * width, (range[1] - range[0]) * width);
            }
            assertArrayEquals(whole, parts, halves ? "f16 cache" : "f32 cache");
        }
    }

    /** f16 rows are written rounded to the nearest f16, ties to even, as a cast rounds; only the range asked. */
    @Test
    void storeHalvesRoundsEachValueToTheNearestHalf() {
        Random random = new Random(9);
        int n = 16 * 30 + 5; // a tail the vectors do not fill
        float[] x = new float[n + 3];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(9) - 6)); // subnormal halves too
        }
        x[3] = 1 + 0x1p-11f;     // halfway between 1 and the next half: to 1 (even)
        x[4] = 1 + 3 * 0x1p-11f; // halfway between two halves: to the even one above
        x[5] = 70000f;           // past the largest half (65504): infinity
        ByteBuffer out = ByteBuffer.allocateDirect((n + 8) * Short.BYTES).order(ByteOrder.nativeOrder());
        out.putShort((n + 2) * Short.BYTES, (short) 0x7777);
        NativeKernels.storeHalves(x, 3, n, out, 2);
        for (int i = 0; i < n; i++) {
            short h = out.getShort((i + 2) * Short.BYTES);
            float value = x[3 + i];
            float got = TensorDtype.halfToFloat(h);
            if ((h & 0x7FFF) == 0) { // a zero half: its neighbours past zero are no halves of the same sign
                assertTrue(Math.abs(value) <= 0x1p-25f, value + " is not within half the smallest half of zero");
                continue;
            }
            float below = TensorDtype.halfToFloat((short) (h - 1));
            float above = TensorDtype.halfToFloat((short) (h + 1));
            if (Float.isInfinite(got)) {
                assertTrue(Math.abs(value) >= 65520f, value + " is not past the halves");
                continue;
            }
            double error = Math.abs((double) value - got);
            assertTrue(error <= Math.abs((double) value - below) && error <= Math.abs((double) value - above),
                    value + " rounded to " + got + ", not the nearest half");
            if (error == Math.abs((double) value - below) || error == Math.abs((double) value - above)) {
                assertEquals(0, h & 1, value + ": a tie goes to the even half");
            }
        }
        assertEquals(1f, TensorDtype.halfToFloat(out.getShort(2 * Short.BYTES)));
        assertEquals(1 + 0x1p-9f, TensorDtype.halfToFloat(out.getShort(3 * Short.BYTES)));
        assertEquals(0x7777, out.getShort((n + 2) * Short.BYTES), "past the range nothing is written");
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.storeHalves(x, 0, n, out, 9));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.storeHalves(x, 4, n, out, 0));
    }

    @Test
    void anIndexOutsideItsArrayOrBufferIsRefusedNotRead() {
        int dh = 16;
        Cache cache = new Cache(false, dh, 1);
        float[] q = new float[dh];
        float[] context = new float[dh];
        int[] rows = {0, 1};
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.attend(cache.keys, cache.values, false,
                cache.rowValues, 0, dh, rows, q, context, new int[] {1}, new int[] {1}, 1)); // query past q's end
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.attend(cache.keys, cache.values, false,
                cache.rowValues, 0, dh, rows, q, context, new int[] {0}, new int[] {3}, 1)); // more keys than rows
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.attend(cache.keys, cache.values, false,
                cache.rowValues, 0, dh, new int[] {0, CACHE_ROWS}, q, context, new int[] {0}, new int[] {2}, 1));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.attend(cache.keys, cache.values, false,
                cache.rowValues, 0, 24, rows, new float[24], new float[24], new int[] {0}, new int[] {1}, 1));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.attend(ByteBuffer.allocate(64),
                ByteBuffer.allocate(64), false, 16, 0, dh, new int[] {0}, q, context, new int[] {0}, new int[] {1}, 1));
        Cache halves = new Cache(true, dh, 1); // half the bytes: its rows end at CACHE_ROWS all the same
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.attend(halves.keys, halves.values, true,
                halves.rowValues, 0, dh, new int[] {0, CACHE_ROWS}, q, context, new int[] {0}, new int[] {2}, 1));
        NativeKernels.attend(halves.keys, halves.values, true, halves.rowValues, 0, dh, new int[] {0, CACHE_ROWS - 1},
                q, context, new int[] {0}, new int[] {2}, 1); // its last row is in bounds
    }

    @Test
    void siluTimesFollowsItsDefinitionOverEveryRange() {
        Random random = new Random(3);
        int n = 16 * 40 + 7; // a tail the vectors do not fill
        float[] g = new float[n];
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = i < 200 ? (i - 100) * 0.9f : (float) random.nextGaussian() * 4; // -90..90: both tails of e^x
            v[i] = (float) random.nextGaussian();
        }
        float[] out = g.clone();
        NativeKernels.siluTimes(out, v, n);
        for (int i = 0; i < n; i++) {
            double expected = g[i] / (1 + Math.exp(-g[i])) * v[i];
            assertEquals(expected, out[i], 3e-7 * Math.abs(expected) + 1e-30, "gate " + g[i]);
        }
        float[] partial = g.clone();
        NativeKernels.siluTimes(partial, v, 5);
        assertArrayEquals(java.util.Arrays.copyOfRange(out, 0, 5), java.util.Arrays.copyOfRange(partial, 0, 5));
        assertEquals(g[5], partial[5], "past n nothing is written");
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.siluTimes(new float[4], new float[3], 4));
    }

    /**
     * A cache of f32 or f16 rows (KV_HEADS heads of dh) filled with seeded values, and a sequence's scattered rows.
     */
    private static final class Cache {
        final boolean halves;
        final int rowValues;
        final ByteBuffer keys;
        final ByteBuffer values;
        final int[] rows = new int[CACHE_ROWS / 2]; // position t at rows[t]: blocks of 16 rows, out of order

        Cache(boolean halves, int dh, long seed) {
            this.halves = halves;
            rowValues = KV_HEADS * dh;
            int bytes = halves ? Short.BYTES : Float.BYTES;
            keys = ByteBuffer.allocateDirect(CACHE_ROWS * rowValues * bytes).order(ByteOrder.nativeOrder());
            values = ByteBuffer.allocateDirect(keys.capacity()).order(ByteOrder.nativeOrder());
            Random random = new Random(seed);
            float[] k = new float[CACHE_ROWS * rowValues];
            float[] v = new float[k.length];
            for (int i = 0; i < k.length; i++) {
                k[i] = (float) random.nextGaussian();
                v[i] = (float) random.nextGaussian();
            }
            if (halves) {
                NativeKernels.storeHalves(k, 0, k.length, keys, 0);
                NativeKernels.storeHalves(v, 0, v.length, values, 0);
            } else {
                keys.asFloatBuffer().put(k);
                values.asFloatBuffer().put(v);
            }
            int blocks = CACHE_ROWS / 16;
            for (int t = 0; t < rows.length; t++) {
                rows[t] = ((t / 16 * 7 + 3) % blocks) * 16 + t % 16;
            }
        }

        float key(int t, int head, int dh, int d) {
            return at(keys, rows[t] * rowValues + head * dh + d);
        }

        float value(int t, int head, int dh, int d) {
            return at(values, rows[t] * rowValues + head * dh + d);
        }

        private float at(ByteBuffer buffer, int index) {
            return halves ? TensorDtype.halfToFloat(buffer.getShort(index * Short.BYTES))
                    : buffer.getFloat(index * Float.BYTES);
        }
    }

    private static float[] queries(int rows, int g, int dh, long seed) {
        Random random = new Random(seed);
        float[] q = new float[rows * KV_HEADS * g * dh];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) (random.nextGaussian() / Math.sqrt(dh)) * 2; // scaled as the model's: 1/sqrt(Dh)
        }
        return q;
    }

    /** Rows [from, to) of a chunk whose row 0 sits at position `past`, every KV head: (rows, KV_HEADS * g * dh). */
    private static float[] attend(Cache cache, float[] q, int g, int dh, int past, int from, int to) {
        int width = KV_HEADS * g * dh;
        float[] context = new float[q.length];
        for (int j = 0; j < KV_HEADS; j++) {
            int vectors = (to - from) * g;
            int[] at = new int[vectors];
            int[] keysOf = new int[vectors];
            for (int i = from; i < to; i++) {
                for (int h = 0; h < g; h++) {
                    at[(i - from) * g + h] = i * width + (j * g + h) * dh;
                    keysOf[(i - from) * g + h] = past + i + 1;
                }
            }
            NativeKernels.attend(cache.keys, cache.values, cache.halves, cache.rowValues, j * dh, dh, cache.rows, q,
                    context, at, keysOf, vectors);
        }
        return context;
    }

    private static void assertAttention(boolean halves, int dh, int g, int past, int rows, long seed) {
        Cache cache = new Cache(halves, dh, seed);
        float[] q = queries(rows, g, dh, seed + 1);
        float[] context = attend(cache, q, g, dh, past, 0, rows);
        int width = KV_HEADS * g * dh;
        double worst = 0;
        for (int i = 0; i < rows; i++) {
            int keys = past + i + 1;
            for (int j = 0; j < KV_HEADS; j++) {
                for (int h = 0; h < g; h++) {
                    int at = i * width + (j * g + h) * dh;
                    double[] scores = new double[keys];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t = 0; t < keys; t++) {
                        for (int d = 0; d < dh; d++) {
                            scores[t] += (double) q[at + d] * cache.key(t, j, dh, d);
                        }
                        max = Math.max(max, scores[t]);
                    }
                    double sum = 0;
                    for (int t = 0; t < keys; t++) {
                        scores[t] = Math.exp(scores[t] - max);
                        sum += scores[t];
                    }
                    for (int d = 0; d < dh; d++) {
                        double expected = 0;
                        for (int t = 0; t < keys; t++) {
                            expected += scores[t] / sum * cache.value(t, j, dh, d);
                        }
                        worst = Math.max(worst, Math.abs(expected - context[at + d]));
                    }
                }
            }
        }
        assertTrue(worst < 2e-5, (halves ? "f16" : "f32") + " cache, Dh " + dh + ", G " + g + ", " + past
                + " past: off by " + worst);
    }
}
