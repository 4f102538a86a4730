package io.flexiserve.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import io.flexiserve.model.cpu.ShortLivedThread;
import io.flexiserve.model.cpu.TorchThreads;
import io.flexiserve.model.cpu.VectorGemm;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Linear} on the Java kernels ({@code mixed}), and the libtorch threads a step on them leaves. */
class PackedLinearTest {

    private final Random random = new Random(11);
    private NDManager manager;

    @TempDir
    Path dir;

    @BeforeEach
    void open() {
        assumeTrue(VectorGemm.AVAILABLE, "this CPU's vectors hold fewer than 8 floats");
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    /** {@code mixed}: the packed weight is the only copy, and every row count multiplies on it with f32 activations. */
    @Test
    void linearKeepsThePackedWeightAsItsOnlyCopyForEveryRowCount() {
        int out = 40;
        int in = 24;
        float[] values = gaussian(out * in, 1);
        NDArray half = manager.create(values, new Shape(out, in)).toType(DataType.FLOAT16, false);
        float[] w = half.toType(DataType.FLOAT32, false).toFloatArray();
        Linear linear = Linear.of(half, mixed(), true);
        assertTrue(linear.packed());
        assertEquals(1, linear.stored().size(), "one copy of the weight: the packed one");
        assertThrows(IllegalStateException.class, linear::weight);
        for (int rows : new int[] {1, 2, 3, 6}) {
            float[] x = gaussian(rows * in, 1);
            NDArray y = linear.forward(manager.create(x, new Shape(rows, in)));
            double error = Products.maxError(y, x, w, rows, out, in);
            assertTrue(error < 1e-4, rows + " rows on the packed weight, f32 activations: error " + error);
        }
        float[] x3 = gaussian(2 * 3 * in, 1); // (B, T, in) as the training pass shapes it
        NDArray y3 = linear.forward(manager.create(x3, new Shape(2, 3, in)));
        assertEquals(new Shape(2, 3, out), y3.getShape());
        assertTrue(Products.maxError(y3.reshape(6, out), x3, w, 6, out, in) < 1e-4, "leading dimensions flattened");
        NDArray again = manager.create(values, new Shape(out, in)).toType(DataType.FLOAT16, false);
        assertTrue(!Linear.of(again, new ModelOptions(Device.cpu(), DataType.FLOAT32, DataType.FLOAT16, 0, false, 0),
                true).packed(), "f16-weights keeps libtorch's f16 tensor");
    }

    @Test
    void batchedStepsRunLibtorchOnOneThreadAndSingleRowStepsOnAll() throws Exception {
        assumeTrue(TorchThreads.ALL > 1, "one core: nothing to narrow");
        Path ckpt = TestCheckpoints.write(dir, TestCheckpoints.flexi());
        FlexiDepthModel model = ShortLivedThread.call("load", () -> ModelLoader.load(ckpt,
                ModelOptions.of(Device.cpu(), "mixed", 0, false)));
        try (model; KvCache cache = model.newKvCache(32)) {
            int[] threads = ShortLivedThread.call("step", () -> {
                // (prompt chunks run in Java too where the native attention is: this is the tensor path's rule)
                model.forwardOnTensors(StepBatch.of(new SequenceChunk(0, 0, new int[] {1, 2, 3}, 0.5f, true)), cache);
                int batched = JniUtils.getNumThreads();
                int fresh = ShortLivedThread.call("fresh", JniUtils::getNumThreads); // while libtorch's default is 1
                // (a decode step runs in Java, with no libtorch kernel: JavaForwardTest)
                model.forwardOnTensors(StepBatch.of(new SequenceChunk(0, 3, new int[] {4}, 0.5f, true)), cache);
                return new int[] {batched, fresh, JniUtils.getNumThreads()};
            });
            assertEquals(1, threads[0], "a 3-row step leaves the core to the Java kernels' helper");
            assertEquals(TorchThreads.ALL, threads[1], "a thread starting libtorch work takes every core again");
            assertEquals(TorchThreads.ALL, threads[2], "a 1-row step on tensors gives libtorch's matvec every core");
        }
    }

    private static ModelOptions mixed() {
        return ModelOptions.of(Device.cpu(), "mixed", 0, false);
    }

    private float[] gaussian(int n, double std) {
        return Products.gaussian(random, n, std);
    }
}
