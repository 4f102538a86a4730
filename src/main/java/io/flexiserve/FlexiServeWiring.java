package io.flexiserve;

import ai.djl.Device;
import io.flexiserve.api.ModelEndpoint;
import io.flexiserve.api.ModelRegistry;
import io.flexiserve.api.RequestLimits;
import io.flexiserve.engine.Engine;
import io.flexiserve.engine.EngineConfig;
import io.flexiserve.engine.ServingState;
import io.flexiserve.model.FlexiDepthModel;
import io.flexiserve.model.KvCache;
import io.flexiserve.model.ModelLoader;
import io.flexiserve.model.ModelOptions;
import io.flexiserve.model.SequenceChunk;
import io.flexiserve.model.StepBatch;
import io.flexiserve.tokenizer.ChatTemplate;
import io.flexiserve.tokenizer.GenerationConfig;
import io.flexiserve.tokenizer.Tokenizer;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Builds the core objects from {@link FlexiServeConfig}: resolves the checkpoint (the generated demo model
 * when none is configured), loads it on a background thread so that the started/ready health checks can
 * report progress, warms it up, starts its engine, and closes both at shutdown. It is also the registry of
 * served model ids that the HTTP layer looks requests up in.
 */
@ApplicationScoped
public class FlexiServeWiring implements ModelRegistry {

    private static final Logger LOG = Logger.getLogger(FlexiServeWiring.class);

    private final FlexiServeConfig config;
    private final io.flexiserve.metrics.ServingMetrics metrics;
    private final ServingState state = new ServingState();
    private volatile ServedModel served;
    private volatile ModelEndpoint endpoint;

    public FlexiServeWiring(FlexiServeConfig config,
                            io.flexiserve.metrics.ServingMetrics metrics) {
        this.config = config;
        this.metrics = metrics;
    }

    @Produces
    @ApplicationScoped
    ServingState servingState() {
        return state;
    }

    @Produces
    @Singleton // a record cannot be proxied, so not @ApplicationScoped
    RequestLimits requestLimits() {
        FlexiServeConfig.Limits l = config.limits();
        return new RequestLimits(l.maxN(), l.maxChoices(), l.maxStop(), l.maxStopLength(), l.maxLogitBias(),
                l.maxMessages(), l.maxPrompts(), l.maxTokens());
    }

    @Override
    public boolean ready() {
        return endpoint != null;
    }

    @Override
    public List<ModelEndpoint> all() {
        ModelEndpoint e = endpoint;
        return e == null ? List.of() : List.of(e);
    }

    @Override
    public Optional<ModelEndpoint> find(String name) {
        ModelEndpoint e = endpoint;
        return e != null && e.name().equals(name) ? Optional.of(e) : Optional.empty();
    }

    void onStart(@Observes StartupEvent event) {
        Thread loader = new Thread(this::load, "flexiserve-loader");
        loader.setDaemon(true);
        loader.start();
    }

    void onStop(@Observes ShutdownEvent event) {
        ModelEndpoint e = endpoint;
        endpoint = null;
        if (e != null) {
            e.engine().close();
        }
        ServedModel model = served;
        if (model != null) {
            model.close();
        }
    }

    private void load() {
        try {
            Path dir = config.model().path().orElseGet(() -> DemoModel.ensure(config.dataDir()));
            String name = config.model().name().orElse(config.model().path().isPresent()
                    ? dir.getFileName().toString() : DemoModel.NAME);
            Device device = device();
            ModelOptions options = ModelOptions.of(device, config.model().dtype(), config.model().maxModelLen().orElse(0),
                    config.model().premultiplyRouterHead());
            metrics.registerLoadProgress(name, state);
            LOG.infof("loading model %s from %s on %s (activations %s, weights %s)", name, dir, device, options.dtype(),
                    options.weightDtype());
            long start = System.nanoTime();
            ProgressLog progress = new ProgressLog(name, start, state);
            FlexiDepthModel model = ModelLoader.load(dir, options, progress::loaded);
            Tokenizer tokenizer = Tokenizer.load(dir);
            ChatTemplate template = ChatTemplate.load(dir);
            GenerationConfig generation = GenerationConfig.read(dir, tokenizer, template.eosToken());
            state.warmingUp();
            warmUp(model);
            served = new ServedModel(name, dir, model, tokenizer, template, generation);
            EngineConfig engineConfig = engineConfig(model);
            Engine engine = new Engine(model, engineConfig, name,
                    metrics.listenerFor(name, model.config().numLayers(), model.config().routingLayers()));
            endpoint = new ModelEndpoint(name, engine, tokenizer, template, generation, model.config().numLayers(),
                    model.config().routingLayers(), model.config().vocabSize(), System.currentTimeMillis() / 1000);
            metrics.register(endpoint);
            LOG.infof("engine for %s: %s", name, engineConfig);
            state.ready();
            LOG.infof("model %s ready in %.1f s (%d layers, routed %s)", name, (System.nanoTime() - start) / 1e9,
                    model.config().numLayers(), model.config().routingLayers());
        } catch (RuntimeException e) {
            LOG.errorf("cannot serve the model: %s", e.getMessage());
            state.failed(e.getMessage());
        }
    }

    /** One small forward, so the first request does not pay for page faults and kernel selection. */
    private static void warmUp(FlexiDepthModel model) {
        try (KvCache cache = model.newKvCache(8)) {
            model.forward(StepBatch.of(new SequenceChunk(0, 0, new int[] {0, 1, 2, 3}, 0.5f, true)), cache);
            model.forward(StepBatch.of(new SequenceChunk(0, 4, new int[] {4}, 0.5f, true)), cache);
        }
    }

    private EngineConfig engineConfig(FlexiDepthModel model) {
        FlexiServeConfig.Engine e = config.engine();
        int maxModelLen = model.maxPositions();
        int kvTokens = e.kvCacheTokens().orElseGet(() -> defaultKvTokens(model, maxModelLen, e.maxNumSeqs()));
        return new EngineConfig(e.maxNumSeqs(), e.maxBatchTokens(), e.maxQueuedRequests(), kvTokens, maxModelLen);
    }

    /**
     * Enough for max-num-seqs full-length sequences, bounded by a quarter of available host memory on CPU
     * (the weights are already loaded) or 80% of free device memory on GPU; never less than one full sequence.
     */
    private static int defaultKvTokens(FlexiDepthModel model, int maxModelLen, int maxNumSeqs) {
        long perToken = KvCache.bytesPerToken(model.config(), model.dtype());
        long budget = model.device().isGpu() ? (long) (freeGpuBytes(model.device()) * 0.8) : availableHostBytes() / 4;
        long tokens = Math.min((long) maxNumSeqs * maxModelLen, budget / perToken);
        return (int) Math.max(maxModelLen, Math.min(tokens, Integer.MAX_VALUE / 2));
    }

    private static long availableHostBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (java.io.IOException | NumberFormatException e) {
            LOG.debugf("no /proc/meminfo: %s", e.getMessage());
        }
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getFreeMemorySize();
    }

    private static long freeGpuBytes(Device device) {
        java.lang.management.MemoryUsage usage = ai.djl.util.cuda.CudaUtils.getGpuMemory(device);
        return usage.getMax() - usage.getUsed();
    }

    private Device device() {
        String spec = config.model().device().orElse(ai.djl.engine.Engine.getInstance().getGpuCount() > 0 ? "gpu" : "cpu").trim();
        if (spec.equals("cpu")) {
            return Device.cpu();
        }
        if (spec.equals("gpu")) {
            return Device.gpu();
        }
        if (spec.startsWith("gpu:")) {
            return Device.gpu(Integer.parseInt(spec.substring(4)));
        }
        throw new IllegalArgumentException("flexiserve.model.device must be cpu, gpu or gpu:N, not '" + spec + "'");
    }

    /** Logs loading progress every 10% with an ETA and feeds the serving state. */
    private static final class ProgressLog {
        private final String name;
        private final long start;
        private final ServingState state;
        private int lastDecile = -1;

        ProgressLog(String name, long start, ServingState state) {
            this.name = name;
            this.start = start;
            this.state = state;
        }

        void loaded(double fraction) {
            state.loading(fraction);
            int decile = (int) (fraction * 10);
            if (decile > lastDecile) {
                lastDecile = decile;
                double elapsed = (System.nanoTime() - start) / 1e9;
                double eta = fraction > 0 ? elapsed / fraction - elapsed : 0;
                LOG.infof("loading %s: %3.0f%% (ETA %.1f s)", name, fraction * 100, eta);
            }
        }
    }
}
