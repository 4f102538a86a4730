package io.flexiserve.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training pass computes what serving computes, and its gradients reach the routers only. */
class TrainingPassTest {

    @TempDir
    Path dir;

    private static final int[] SEQUENCE = {4, 8, 15, 16, 23, 42, 7, 3, 9, 1};
    private static final int[] SHORTER = {5, 6, 7, 8, 9};

    @Test
    void lossAndLayersMatchTheServingForwardTokenByToken() throws Exception {
        TestCheckpoints.write(dir, TestCheckpoints.flexi());
        try (FlexiDepthModel model = ModelLoader.load(dir, ModelOptions.cpu());
             NDManager manager = NDManager.newBaseManager();
             RouterWeights routers = RouterWeights.fromCheckpoint(dir, manager)) {
            TrainingPass pass = new TrainingPass(model, routers);
            double servingLoss = 0;
            double servingLayers = 0;
            try (KvCache cache = model.newKvCache(64)) {
                for (int t = 0; t < SEQUENCE.length; t++) {
                    ForwardResult r = model.forward(StepBatch.of(new SequenceChunk(0, t, new int[] {SEQUENCE[t]}, 0.5f, true)), cache);
                    servingLayers += r.trace().layersUsed(0);
                    if (t + 1 < SEQUENCE.length) {
                        servingLoss -= logSoftmax(r.logits()[0])[SEQUENCE[t + 1]];
                    }
                }
            }
            servingLoss /= SEQUENCE.length - 1;
            servingLayers /= SEQUENCE.length;
            try (NDScope ignored = new NDScope()) {
                // padded next to a shorter sequence: padding must not change the longer one's numbers
                TrainingPass.Losses alone = pass.forward(List.of(SEQUENCE), 0);
                assertEquals(servingLoss, alone.lmLoss(), 1e-4);
                assertEquals(servingLayers, alone.layersUsed(), 1e-9);
                assertEquals(SEQUENCE.length, alone.tokens());
                TrainingPass.Losses padded = pass.forward(List.of(SEQUENCE, SHORTER), 0);
                assertEquals(SEQUENCE.length + SHORTER.length, padded.tokens());
                assertTrue(Double.isFinite(padded.lmLoss()));
            }
        }
    }

    @Test
    void gradientsReachOnlyRouterAndAdapterTensorsAndBaseWeightsStayBitIdentical() throws Exception {
        TestCheckpoints.write(dir, TestCheckpoints.config(List.of(), null)); // a plain Llama: routers start fresh
        try (FlexiDepthModel model = ModelLoader.load(dir, ModelOptions.cpu());
             NDManager manager = NDManager.newBaseManager()) {
            List<float[]> before = model.baseWeights().stream().map(NDArray::toFloatArray).toList();
            RouterWeights routers = RouterWeights.initialise(model.config(), List.of(1, 3), manager, 42);
            routers.arrays().forEach(a -> a.setRequiresGradient(true));
            TrainingPass pass = new TrainingPass(model, routers);
            try (NDScope ignored = new NDScope(); GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                collector.backward(pass.forward(List.of(SEQUENCE, SHORTER), 0.1).loss());
            }
            for (var e : routers.tensors().entrySet()) {
                float[] grad = e.getValue().getGradient().toFloatArray();
                assertTrue(Arrays.stream(toDoubles(grad)).anyMatch(g -> g != 0), e.getKey() + " got no gradient");
            }
            for (NDArray w : model.baseWeights()) {
                assertFalse(w.hasGradient(), "a frozen weight " + w.getShape() + " requires a gradient");
            }
            List<NDArray> after = model.baseWeights();
            for (int i = 0; i < before.size(); i++) {
                assertArrayEquals(before.get(i), after.get(i).toFloatArray(), "base weight " + i + " changed");
            }
            assertEquals(14, routers.tensors().size(), "7 router/adapter tensors for each of 2 routed layers");
        }
    }

    private static double[] toDoubles(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    private static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        double[] out = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = logits[i] - max - Math.log(sum);
        }
        return out;
    }
}
