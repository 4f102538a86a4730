package io.flexiserve.finetune;

import ai.djl.Device;
import io.flexiserve.DemoModel;
import io.flexiserve.model.RouterWeights;
import io.flexiserve.model.checkpoint.CheckpointGenerator;
import io.flexiserve.model.checkpoint.TensorDtype;
import io.flexiserve.tokenizer.ChatTemplate;
import io.flexiserve.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The trainer on the demo model's shape, on CPU: the loss falls and alpha trades layers for loss. */
class RouterTrainerTest {

    @TempDir
    static Path dir;
    static Path checkpoint;
    static TrainingSet train;
    static TrainingSet heldOut;

    @BeforeAll
    static void data() throws IOException {
        checkpoint = dir.resolve("demo");
        DemoModel.write(checkpoint);
        try (Tokenizer tokenizer = Tokenizer.load(checkpoint)) {
            ChatTemplate template = ChatTemplate.load(checkpoint);
            train = TrainingSet.of(TrainingData.conversations(48, 1), template, tokenizer, 512);
            heldOut = TrainingSet.of(TrainingData.conversations(16, 2), template, tokenizer, 512);
        }
    }

    static Hyperparameters hp(double alpha, int epochs) {
        return new Hyperparameters("custom", alpha, 3e-3, epochs, 8, 2, 512, 0.03, 0.0, 1.0, 1000, 42, List.of());
    }

    record Run(List<StepMetrics> steps, double heldOutLayers, double untrainedLayers, Path output) {
    }

    static Run run(double alpha, String name) throws IOException {
        List<StepMetrics> steps = new ArrayList<>();
        try (RouterTrainer trainer = RouterTrainer.load(checkpoint, hp(alpha, 4), Device.cpu())) {
            double untrained = trainer.layersUsed(heldOut.examples());
            RouterTrainer.Outcome outcome = trainer.train(train, dir.resolve(name), new Recorder(steps), () -> false);
            return new Run(steps, trainer.layersUsed(heldOut.examples()), untrained, outcome.output().orElseThrow());
        }
    }

    @Test
    void lossFallsAndALargerAlphaUsesFewerLayers() throws IOException {
        Run small = run(1e-4, "small");
        Run large = run(0.5, "large");
        double firstLm = small.steps().get(0).lmLoss();
        double lastLm = small.steps().get(small.steps().size() - 1).lmLoss();
        String numbers = String.format("lm loss %.5f -> %.5f; held-out layers: untrained %.5f, alpha 1e-4 %.3f, alpha 0.5 %.3f",
                firstLm, lastLm, small.untrainedLayers(), small.heldOutLayers(), large.heldOutLayers());
        assertTrue(lastLm < firstLm - 0.05, "loss must fall: " + numbers);
        assertTrue(large.heldOutLayers() < small.heldOutLayers(), numbers);
        assertTrue(large.heldOutLayers() < large.untrainedLayers(), numbers);
        assertEquals(12, small.steps().size(), "48 examples / 8 per micro-batch / 2 micro-batches x 4 epochs");
    }

    @Test
    void aPlainLlamaGetsFreshRoutersOnTheSecondHalfAndAServableRouterSet() throws IOException {
        Path plain = dir.resolve("plain");
        io.flexiserve.model.ModelConfig config = DemoModel.config().withRoutingLayers(List.of());
        CheckpointGenerator.write(plain, new CheckpointGenerator.Spec(config, TensorDtype.F32, 5, 1, 0));
        List<StepMetrics> steps = new ArrayList<>();
        try (RouterTrainer trainer = RouterTrainer.load(plain, hp(0.01, 1), Device.cpu())) {
            assertEquals(List.of(4, 5, 6, 7), trainer.routers().layers());
            Path output = trainer.train(train, dir.resolve("plain-run"), new Recorder(steps), () -> false).output().orElseThrow();
            io.flexiserve.model.ModelConfig trained = io.flexiserve.model.ModelConfig.read(output);
            assertEquals(List.of(4, 5, 6, 7), trained.routingLayers());
            assertEquals("ddllama", trained.modelType());
            try (var manager = ai.djl.ndarray.NDManager.newBaseManager();
                 RouterWeights set = RouterWeights.read(output.resolve(RouterWeights.FILE), config, trained.routingLayers(), manager)) {
                assertEquals(28, set.tensors().size());
            }
        }
        assertEquals(3, steps.size());
        // N(0, 0.02^2) routers start with every gate near 0.5, so (sum over 4 routed layers of w)^2 is near 4
        assertEquals(4.0, steps.get(0).skipLoss(), 0.1, "first step's skip loss");
    }

    static final class Recorder implements TrainingListener {
        final List<StepMetrics> steps;

        Recorder(List<StepMetrics> steps) {
            this.steps = steps;
        }

        @Override
        public void message(String text) {
        }

        @Override
        public void step(StepMetrics metrics) {
            steps.add(metrics);
        }

        @Override
        public void checkpoint(Path dir, StepMetrics metrics) {
        }
    }
}
