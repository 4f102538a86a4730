package io.flexiserve.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Memory read bandwidth, measured two ways over one fresh 1 GiB tensor, six passes each: libtorch's full reduction,
 * and Java vector loads on every core, two sequential streams per core as the Java kernels read weights (the two
 * agree within a few percent on this project's VM). The roofline takes the better of the two, so that it bounds
 * either reader.
 */
final class Bandwidth {

    private static final long ELEMENTS = 256L * 1024 * 1024; // 1 GiB of f32
    private static final int PASSES = 6;

    private Bandwidth() {
    }

    /** Bytes per second by each reader; {@code java} is 0 without the Vector API. */
    record Measurement(double libtorch, double java) {

        double best() {
            return Math.max(libtorch, java);
        }
    }

    static Measurement measure() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray data = manager.ones(new Shape(ELEMENTS), DataType.FLOAT32);
            double libtorch = 0;
            for (int i = 0; i < PASSES; i++) {
                long start = System.nanoTime();
                try (NDArray sum = data.sum()) {
                    sum.getFloat();
                }
                libtorch = Math.max(libtorch, ELEMENTS * Float.BYTES / ((System.nanoTime() - start) / 1e9));
            }
            boolean vectors = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
            double java = vectors ? JavaRead.bytesPerSecond(data.toByteBuffer(true), PASSES) : 0;
            return new Measurement(libtorch, java);
        }
    }

    /** Sums a buffer of floats with vector loads, split over one thread per core. */
    private static final class JavaRead {
        private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;

        static double bytesPerSecond(ByteBuffer data, int passes) {
            ByteBuffer floats = data.order(ByteOrder.nativeOrder());
            int threads = Runtime.getRuntime().availableProcessors();
            double best = 0;
            float[] sums = new float[threads];
            for (int pass = 0; pass <= passes; pass++) { // pass 0 compiles the loop
                long start = System.nanoTime();
                List<Thread> running = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int part = t;
                    long from = floats.capacity() * (long) part / threads;
                    long to = floats.capacity() * (long) (part + 1) / threads;
                    Thread thread = new Thread(() -> sums[part] = sum(floats, (int) from, (int) to), "bandwidth-" + t);
                    thread.start();
                    running.add(thread);
                }
                for (Thread thread : running) {
                    try {
                        thread.join();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("bandwidth measurement interrupted", e);
                    }
                }
                if (pass > 0) {
                    best = Math.max(best, floats.capacity() / ((System.nanoTime() - start) / 1e9));
                }
            }
            double expected = floats.capacity() / (double) Float.BYTES / threads; // ones: the sum is the count
            if (Math.abs(sums[0] - expected) > 1e-3 * expected) {
                throw new IllegalStateException("the Java read summed " + sums[0] + ", not " + expected);
            }
            return best;
        }

        /** The floats of bytes [from, to), read as two streams, each half's in order. */
        private static float sum(ByteBuffer data, int from, int to) {
            int step = FLOATS.vectorByteSize();
            int half = (to - from) / 2 / step * step;
            FloatVector a = FloatVector.zero(FLOATS);
            FloatVector b = a;
            for (int i = from; i < from + half; i += step) {
                a = a.add(FloatVector.fromByteBuffer(FLOATS, data, i, ByteOrder.nativeOrder()));
                b = b.add(FloatVector.fromByteBuffer(FLOATS, data, i + half, ByteOrder.nativeOrder()));
            }
            float sum = a.add(b).reduceLanes(VectorOperators.ADD);
            for (int i = from + 2 * half; i < to; i += Float.BYTES) {
                sum += data.getFloat(i);
            }
            return sum;
        }
    }
}
