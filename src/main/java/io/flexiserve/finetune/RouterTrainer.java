package io.flexiserve.finetune;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.flexiserve.model.FlexiDepthModel;
import io.flexiserve.model.ModelConfig;
import io.flexiserve.model.ModelLoader;
import io.flexiserve.model.ModelOptions;
import io.flexiserve.model.RouterWeights;
import io.flexiserve.model.TrainingPass;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.BooleanSupplier;

/**
 * Trains the routers and adapters of a FlexiDepth model with its base frozen (docs/model.md section 6): per
 * optimizer step, {@code accumulation} micro-batches of {@code batchSize} sequences, each backward on
 * {@code (CE + alpha * penalty) / micro-batches}; then global-norm clipping, the cosine learning rate and AdamW
 * (0.9, 0.95). Checkpoints every {@code checkpointInterval} steps; {@link #train} resumes from the newest one.
 * Starts from a FlexiDepth checkpoint's routers, or from fresh ones (N(0, 0.02^2), norm 1) on a plain Llama.
 */
public final class RouterTrainer implements AutoCloseable {

    /** DJL allows one gradient collector per JVM (docs/djl-traps.md, trap 5): training steps are serialised. */
    private static final Object COLLECTOR = new Object();

    private final FlexiDepthModel base;
    private final RouterWeights routers;
    private final Hyperparameters hp;
    private final TrainingPass pass;
    private final int maxLength;

    private RouterTrainer(FlexiDepthModel base, RouterWeights routers, Hyperparameters hp, int maxLength) {
        this.base = base;
        this.routers = routers;
        this.hp = hp;
        this.maxLength = maxLength;
        routers.arrays().forEach(a -> a.setRequiresGradient(true));
        this.pass = new TrainingPass(base, routers);
    }

    /** Loads the frozen base in f32 on {@code device} and the checkpoint's routers (or fresh ones) to train. */
    public static RouterTrainer load(Path checkpoint, Hyperparameters hp, Device device) {
        return load(checkpoint, null, hp, device);
    }

    /**
     * As {@link #load(Path, Hyperparameters, Device)}, starting from the router set in {@code routers} (a job's
     * output or checkpoint directory) when it is not null: the recipe's second stage continues the first's.
     */
    public static RouterTrainer load(Path checkpoint, Path routers, Hyperparameters hp, Device device) {
        ModelConfig config = ModelConfig.read(checkpoint);
        int maxLength = Math.min(hp.maxLength(), config.maxPositionEmbeddings());
        FlexiDepthModel base = ModelLoader.load(checkpoint, new ModelOptions(device, DataType.FLOAT32, maxLength, false));
        NDManager manager = NDManager.newBaseManager(device);
        try {
            RouterWeights start = routers == null ? routersFor(checkpoint, config, hp, manager)
                    : continued(routers, config, hp, manager);
            return new RouterTrainer(base, start, hp, maxLength);
        } catch (RuntimeException e) {
            manager.close();
            base.close();
            throw e;
        }
    }

    private static RouterWeights routersFor(Path checkpoint, ModelConfig config, Hyperparameters hp, NDManager manager) {
        List<Integer> requested = hp.routingLayers();
        hp.checkRoutingLayers(config.numLayers());
        if (!config.routingLayers().isEmpty() && (requested.isEmpty() || requested.equals(config.routingLayers()))) {
            return RouterWeights.fromCheckpoint(checkpoint, manager);
        }
        List<Integer> layers = requested.isEmpty() ? secondHalf(config.numLayers()) : requested;
        return RouterWeights.initialise(config, layers, manager, hp.seed());
    }

    private static RouterWeights continued(Path dir, ModelConfig base, Hyperparameters hp, NDManager manager) {
        List<Integer> layers = ModelConfig.read(dir).routingLayers();
        if (!hp.routingLayers().isEmpty() && !hp.routingLayers().equals(layers)) {
            throw new JobSpecException("hyperparameters.routing_layers", "the router set being continued routes layers "
                    + layers + ", not " + hp.routingLayers());
        }
        return RouterWeights.read(dir.resolve(RouterWeights.FILE), base, layers, manager);
    }

    /** The release routes layers 16..31 of 32: the second half. */
    static List<Integer> secondHalf(int layers) {
        List<Integer> out = new ArrayList<>();
        for (int l = layers / 2; l < layers; l++) {
            out.add(l);
        }
        return out;
    }

    /** Longest example this trainer accepts (the job's max length, capped by the model's positions). */
    public int maxLength() {
        return maxLength;
    }

    public RouterWeights routers() {
        return routers;
    }

    /** Outcome of {@link #train}: the output directory, or empty when cancelled. */
    public record Outcome(Optional<Path> output, StepMetrics last) {
    }

    /**
     * Trains on {@code data}, writing checkpoints under {@code workDir/checkpoints} and the result to
     * {@code workDir/output}; resumes from the newest checkpoint there. Stops before the next step once
     * {@code cancelled} answers true.
     */
    public Outcome train(TrainingSet data, Path workDir, TrainingListener listener, BooleanSupplier cancelled)
            throws IOException {
        JniUtils.setGradMode(false); // on by default on new threads (docs/djl-traps.md, trap 4)
        Batches batches = new Batches(data.examples(), hp.batchSize(), hp.epochs(), hp.seed());
        int totalSteps = (batches.total() + hp.accumulation() - 1) / hp.accumulation();
        CosineSchedule schedule = CosineSchedule.of(hp.learningRate(), hp.warmupRatio(), totalSteps);
        AdamW optimizer = new AdamW(routers.tensors(), hp.weightDecay(), routers.manager());
        Path checkpoints = workDir.resolve("checkpoints");
        int start = 0;
        long trained = 0;
        StepMetrics last = new StepMetrics(0, totalSteps, Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0, 0);
        Optional<Path> resumeFrom = TrainingCheckpoint.latest(checkpoints);
        if (resumeFrom.isPresent()) {
            TrainingCheckpoint.State state = restore(resumeFrom.get(), optimizer);
            start = state.step();
            trained = state.trainedTokens();
            last = state.metrics();
            listener.message("Resuming from checkpoint at step " + start + " of " + totalSteps);
        }
        for (int step = start; step < totalSteps; step++) {
            if (cancelled.getAsBoolean()) {
                return new Outcome(Optional.empty(), last);
            }
            last = step(batches, step, totalSteps, schedule.at(step), optimizer, trained);
            trained = last.trainedTokens();
            listener.step(last);
            if (last.step() % hp.checkpointInterval() == 0 && last.step() < totalSteps) {
                Path dir = TrainingCheckpoint.dirFor(checkpoints, last.step());
                TrainingCheckpoint.write(dir, routers, optimizer, new TrainingCheckpoint.State(last.step(), trained, last));
                listener.checkpoint(dir, last);
            }
        }
        Path output = workDir.resolve("output");
        TrainingCheckpoint.write(output, routers, null, new TrainingCheckpoint.State(totalSteps, trained, last));
        return new Outcome(Optional.of(output), last);
    }

    private TrainingCheckpoint.State restore(Path dir, AdamW optimizer) throws IOException {
        TrainingCheckpoint.State state = TrainingCheckpoint.readState(dir);
        try (RouterWeights saved = RouterWeights.read(dir.resolve(RouterWeights.FILE), routers.config(), routers.layers(),
                routers.manager())) {
            saved.tensors().forEach((name, array) -> routers.tensors().get(name).set(array.toFloatArray()));
        }
        optimizer.restore(TrainingCheckpoint.readOptimizer(dir, routers.manager()), state.step());
        return state;
    }

    private StepMetrics step(Batches batches, int step, int totalSteps, double lr, AdamW optimizer, long trained) {
        int first = step * hp.accumulation();
        int micro = Math.min(hp.accumulation(), batches.total() - first);
        double loss = 0;
        double lm = 0;
        double skip = 0;
        double layers = 0;
        long tokens = 0;
        synchronized (COLLECTOR) {
            try (NDScope ignored = new NDScope()) {
                for (int i = 0; i < micro; i++) {
                    TrainingPass.Losses l;
                    try (GradientCollector collector = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                        l = pass.forward(batches.get(first + i), hp.alpha());
                        // a tensor kept in the step's scope, not div(Number): autograd reads the scalar in backward
                        collector.backward(l.loss().mul(routers.manager().create(1f / micro)));
                    }
                    lm += l.lmLoss() / micro;
                    skip += l.skipLoss() / micro;
                    layers += l.layersUsed() / micro;
                    tokens += l.tokens();
                }
                loss = lm + hp.alpha() * skip;
                clipGradients();
                optimizer.step(lr);
            }
        }
        return new StepMetrics(step + 1, totalSteps, loss, lm, skip, layers, lr, trained + tokens);
    }

    /** Scales all gradients down together when their global L2 norm exceeds max_grad_norm (as torch's clip_grad_norm_). */
    private void clipGradients() {
        double sumSquares = 0;
        for (NDArray p : routers.arrays()) {
            sumSquares += p.getGradient().square().sum().getFloat();
        }
        double norm = Math.sqrt(sumSquares);
        double coefficient = hp.maxGradNorm() / (norm + 1e-6);
        if (coefficient < 1) {
            routers.arrays().forEach(p -> p.getGradient().muli((float) coefficient));
        }
    }

    /** Average layers used per token over {@code examples} under the current routers, without gradients. */
    public double layersUsed(List<int[]> examples) {
        JniUtils.setGradMode(false);
        double weighted = 0;
        long tokens = 0;
        for (int i = 0; i < examples.size(); i += hp.batchSize()) {
            try (NDScope ignored = new NDScope()) {
                TrainingPass.Losses l = pass.forward(examples.subList(i, Math.min(examples.size(), i + hp.batchSize())), 0);
                weighted += l.layersUsed() * l.tokens();
                tokens += l.tokens();
            }
        }
        return weighted / tokens;
    }

    @Override
    public void close() {
        routers.manager().close();
        base.close();
    }

    /** The micro-batches of every epoch in a seeded shuffled order, addressable by global index (for resuming). */
    private static final class Batches {
        private final List<int[]> examples;
        private final int size;
        private final int perEpoch;
        private final int epochs;
        private final long seed;
        private int cachedEpoch = -1;
        private int[] order;

        Batches(List<int[]> examples, int size, int epochs, long seed) {
            this.examples = examples;
            this.size = size;
            this.perEpoch = (examples.size() + size - 1) / size;
            this.epochs = epochs;
            this.seed = seed;
        }

        int total() {
            return perEpoch * epochs;
        }

        List<int[]> get(int index) {
            int epoch = index / perEpoch;
            if (epoch != cachedEpoch) {
                order = shuffled(examples.size(), new Random(seed + epoch));
                cachedEpoch = epoch;
            }
            int from = (index % perEpoch) * size;
            List<int[]> batch = new ArrayList<>();
            for (int i = from; i < Math.min(from + size, examples.size()); i++) {
                batch.add(examples.get(order[i]));
            }
            return batch;
        }

        private static int[] shuffled(int n, Random random) {
            int[] order = new int[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            for (int i = n - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            return order;
        }
    }
}
