package io.flexiserve.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.flexiserve.model.cpu.VectorGemm;
import io.flexiserve.model.cpu.WeightFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The Java kernels alone: one weight of the release's widest shape (MLP down, 4096 x 14336, or any other) in each
 * format, multiplied by 1, 4, 16 and 64 rows (a prompt chunk) on both cores as a model step multiplies it
 * (VectorGemm's own split). Enough copies are cycled that every product reads its weight from memory, not from cache
 * (or, {@code cached}, one copy is multiplied over and over from cache: the kernels' own speed, memory left out); each
 * figure is the median product of {@code passes} passes over the copies, timed once two passes have warmed up and the
 * JIT has gone quiet ({@link JitQuiet}). One row reports bytes read a second (the weight's packed bytes over the
 * time), more rows billions of floating-point operations a second.
 */
final class KernelBench {

    private static final long COLD_BYTES = 512L << 20; // more than any L3 here, over the copies of one weight

    private final int out;
    private final int in;
    private final int passes;
    private final boolean cached;

    /** {@code cached}: one copy of the weight, read from cache, rather than enough copies to read it from memory. */
    KernelBench(int out, int in, int passes, boolean cached) {
        this.out = out;
        this.in = in;
        this.passes = passes;
        this.cached = cached;
    }

    Map<String, Object> run(List<WeightFormat> formats) {
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("shape", out + "x" + in);
        Random random = new Random(7);
        float[] values = new float[out * in];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextGaussian() * 0.02);
        }
        for (WeightFormat format : formats) {
            try (NDManager manager = NDManager.newBaseManager()) {
                NDArray weight = manager.create(values, new Shape(out, in));
                NDArray source = format == WeightFormat.F32 ? weight : weight.toType(DataType.FLOAT16, false);
                VectorGemm first = VectorGemm.pack(source, format);
                long bytes = first.storage().getShape().size();
                VectorGemm[] copies = new VectorGemm[cached ? 1 : (int) Math.max(2, COLD_BYTES / bytes + 1)];
                copies[0] = first;
                for (int c = 1; c < copies.length; c++) {
                    copies[c] = VectorGemm.pack(source, format);
                }
                Map<String, Object> rows = new LinkedHashMap<>();
                for (int m : new int[] {1, 4, 16, 64}) {
                    float[] x = new float[m * in];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) random.nextGaussian();
                    }
                    double seconds = median(copies, x, m);
                    rows.put(m + (m == 1 ? "_row_gb_s" : "_rows_gflop_s"),
                            BenchCommand.round(m == 1 ? bytes / seconds / 1e9 : 2.0 * m * out * in / seconds / 1e9));
                }
                report.put(format.label(), rows);
                System.err.printf("kernels %s %dx%d: %s%n", format.label(), out, in, rows);
            }
        }
        return report;
    }

    /**
     * The median time of one product over {@code passes} passes, each through every copy once, after two more and
     * once the JIT has gone quiet.
     */
    private double median(VectorGemm[] copies, float[] x, int rows) {
        double[] times = new double[passes * copies.length];
        for (int pass = -2; pass < passes; pass++) {
            if (pass == 0) {
                JitQuiet.await();
            }
            for (int c = 0; c < copies.length; c++) {
                long start = System.nanoTime();
                copies[c].multiplyRows(x, rows);
                if (pass >= 0) {
                    times[pass * copies.length + c] = (System.nanoTime() - start) / 1e9;
                }
            }
        }
        java.util.Arrays.sort(times);
        return times[times.length / 2];
    }
}
