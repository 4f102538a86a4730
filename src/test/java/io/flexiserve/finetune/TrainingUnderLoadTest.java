package io.flexiserve.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.flexiserve.DemoModel;
import io.flexiserve.model.FlexiDepthModel;
import io.flexiserve.model.KvCache;
import io.flexiserve.model.ModelLoader;
import io.flexiserve.model.ModelOptions;
import io.flexiserve.model.SequenceChunk;
import io.flexiserve.model.StepBatch;
import io.flexiserve.tokenizer.ChatTemplate;
import io.flexiserve.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training while the same process serves (the local runner's situation). Regression: DJL's {@code mul(Number)},
 * {@code div(Number)} and {@code pow(Number)} free their scalar tensor right after the op, but autograd reads it
 * in the backward pass; with serving allocating alongside, that memory was reused and gradients turned NaN.
 */
class TrainingUnderLoadTest {

    @TempDir
    Path dir;

    @Test
    void lossesStayFiniteWhileAnotherThreadRunsForwards() throws Exception {
        Path checkpoint = dir.resolve("demo");
        DemoModel.write(checkpoint);
        TrainingSet data;
        try (Tokenizer tokenizer = Tokenizer.load(checkpoint)) {
            data = TrainingSet.of(TrainingData.conversations(16, 5), ChatTemplate.load(checkpoint), tokenizer, 512);
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger forwards = new AtomicInteger();
        Thread serving = new Thread(() -> {
            try (FlexiDepthModel model = ModelLoader.load(checkpoint, ModelOptions.cpu()); KvCache cache = model.newKvCache(64)) {
                int[] tokens = new int[40];
                while (!stop.get()) {
                    for (int i = 0; i < tokens.length; i++) {
                        tokens[i] = 65 + (i * 7 + forwards.get()) % 26;
                    }
                    model.forward(StepBatch.of(new SequenceChunk(0, 0, tokens, 0.5f, true)), cache);
                    forwards.incrementAndGet();
                }
            }
        });
        serving.start();
        List<StepMetrics> steps = new ArrayList<>();
        int before;
        try {
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (forwards.get() == 0) { // training starts once serving runs
                assertTrue(System.nanoTime() < deadline && serving.isAlive(), "serving never ran a forward");
                Thread.sleep(10);
            }
            before = forwards.get();
            for (int run = 0; run < 3; run++) {
                Hyperparameters hp = new Hyperparameters("custom", 0.01, 1e-4, 3, 4, 1, 512, 0.03, 0, 1, 50, 42, List.of());
                try (RouterTrainer trainer = RouterTrainer.load(checkpoint, hp, Device.cpu())) {
                    trainer.train(data, dir.resolve("run" + run), new RouterTrainerTest.Recorder(steps), () -> false);
                }
            }
        } finally {
            stop.set(true);
            serving.join();
        }
        assertEquals(36, steps.size());
        assertTrue(forwards.get() > before, "serving ran alongside: " + (forwards.get() - before) + " forwards during training");
        for (StepMetrics m : steps) {
            assertTrue(Double.isFinite(m.loss()) && Double.isFinite(m.skipLoss()), "non-finite loss under load: " + m);
        }
    }
}
