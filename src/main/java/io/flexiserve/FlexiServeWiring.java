package io.flexiserve;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.flexiserve.admin.RouterSets;
import io.flexiserve.api.ModelEndpoint;
import io.flexiserve.api.ModelRegistry;
import io.flexiserve.api.RequestLimits;
import io.flexiserve.engine.Engine;
import io.flexiserve.engine.EngineConfig;
import io.flexiserve.engine.ServingState;
import io.flexiserve.finetune.FineTuningService;
import io.flexiserve.model.FlexiDepthModel;
import io.flexiserve.model.KvCache;
import io.flexiserve.model.ModelConfig;
import io.flexiserve.model.ModelLoader;
import io.flexiserve.model.ModelOptions;
import io.flexiserve.model.RouterWeights;
import io.flexiserve.model.SequenceChunk;
import io.flexiserve.model.StepBatch;
import io.flexiserve.model.cpu.ShortLivedThread;
import io.flexiserve.tokenizer.ChatTemplate;
import io.flexiserve.tokenizer.GenerationConfig;
import io.flexiserve.tokenizer.Tokenizer;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Builds the core objects from {@link FlexiServeConfig}: resolves the checkpoint (the generated demo model
 * when none is configured), loads it on a background thread so that the started/ready health checks can
 * report progress, warms it up, starts its engine, and closes both at shutdown. It is also the registry of
 * served model ids that the HTTP layer looks requests up in.
 */
@ApplicationScoped
public class FlexiServeWiring implements ModelRegistry, RouterSets, FineTuningService.BaseModels {

    private static final Logger LOG = Logger.getLogger(FlexiServeWiring.class);

    private final FlexiServeConfig config;
    private final io.flexiserve.metrics.ServingMetrics metrics;
    private final ServingState state = new ServingState();
    private volatile ServedModel served;
    private volatile ModelEndpoint endpoint;
    /** Fine-tuned router sets served on the base weights, by model id. */
    private final Map<String, RouterSetModel> routerSets = new ConcurrentHashMap<>();

    /** A router set's view of the base model, its engine and what the admin API shows of it. */
    private record RouterSetModel(ModelEndpoint endpoint, FlexiDepthModel view, RouterSets.Served info, Path dir) {
    }

    private final jakarta.enterprise.event.Event<BaseModelReady> readyEvents;
    private final ServedRouterSetsFile servedSets; // what a restart serves again

    public FlexiServeWiring(FlexiServeConfig config, io.flexiserve.metrics.ServingMetrics metrics,
                            jakarta.enterprise.event.Event<BaseModelReady> readyEvents) {
        this.config = config;
        this.metrics = metrics;
        this.readyEvents = readyEvents;
        this.servedSets = new ServedRouterSetsFile(config.dataDir().resolve("served-router-sets.json"));
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
                l.maxMessages(), l.maxPrompts(), l.maxTokens(), l.streamBufferBytes(), l.streamStallSeconds());
    }

    @Override
    public boolean ready() {
        return endpoint != null;
    }

    @Override
    public boolean draining() {
        return state.isDraining();
    }

    @Override
    public List<ModelEndpoint> all() {
        ModelEndpoint e = endpoint;
        if (e == null) {
            return List.of();
        }
        List<ModelEndpoint> all = new ArrayList<>(List.of(e));
        routerSets.values().stream().map(RouterSetModel::endpoint).sorted(Comparator.comparing(ModelEndpoint::name))
                .forEach(all::add);
        return all;
    }

    @Override
    public Optional<ModelEndpoint> find(String name) {
        ModelEndpoint e = endpoint;
        if (e != null && e.name().equals(name)) {
            return Optional.of(e);
        }
        return Optional.ofNullable(routerSets.get(name)).map(RouterSetModel::endpoint);
    }

    /** The base model's checkpoint, and for a served router set also its directory (training continues it). */
    @Override
    public Optional<FineTuningService.TrainingBase> resolve(String model) {
        ServedModel base = served;
        if (base == null) {
            return Optional.empty();
        }
        if (base.name().equals(model)) {
            return Optional.of(new FineTuningService.TrainingBase(base.path(), null));
        }
        return Optional.ofNullable(routerSets.get(model)).map(set -> new FineTuningService.TrainingBase(base.path(), set.dir()));
    }

    /** The served base model under {@code model}: itself, or the base a router set runs on. */
    public String baseOf(String model) {
        RouterSetModel set = routerSets.get(model);
        return set == null ? model : set.info().base();
    }

    @Override
    public List<RouterSets.Served> list() {
        return routerSets.values().stream().map(RouterSetModel::info).sorted(Comparator.comparing(RouterSets.Served::id)).toList();
    }

    /**
     * Serves the router set in {@code dir} on the base model's weights: a view that shares every base tensor,
     * with its own engine and a KV cache of {@code flexiserve.finetune.served-kv-cache-tokens}.
     */
    @Override
    public synchronized RouterSets.Served serve(String id, String trainedOn, Path dir) {
        String base = baseOf(trainedOn);
        ServedModel model = served;
        if (model == null || !model.name().equals(base)) {
            throw new IllegalArgumentException("the base model " + base + " is not served here");
        }
        if (find(id).isPresent()) {
            throw new IllegalArgumentException("a model with id " + id + " is already served");
        }
        FlexiDepthModel view = null;
        ModelEndpoint ep;
        int kvTokens;
        try {
            ModelConfig routed = ModelConfig.read(dir);
            // tensor work off this long-lived request thread, so that it keeps no OpenMP team (ShortLivedThread)
            view = ShortLivedThread.call("flexiserve-router-set", () -> {
                try (NDManager manager = NDManager.newBaseManager(model.model().device());
                     RouterWeights weights = RouterWeights.read(dir.resolve(RouterWeights.FILE), model.model().config(),
                             routed.routingLayers(), manager)) {
                    return model.model().withRouters(weights);
                }
            });
            kvTokens = Math.max(view.maxPositions(), config.finetune().servedKvCacheTokens());
            Engine engine = new Engine(view, engineConfig(view.maxPositions(), kvTokens), id,
                    metrics.listenerFor(id, view.config().numLayers(), view.config().routingLayers()));
            ep = new ModelEndpoint(id, engine, model.tokenizer(), model.chatTemplate(), model.generationConfig(),
                    view.config().numLayers(), view.config().routingLayers(), view.config().vocabSize(),
                    System.currentTimeMillis() / 1000);
        } catch (RuntimeException | OutOfMemoryError e) { // refused alone: the base and other sets serve on
            if (view != null) {
                view.close();
            }
            LOG.errorf("cannot serve router set %s from %s: %s", id, dir, e.getMessage());
            throw new IllegalArgumentException("the router set in " + dir + " cannot be served: " + e.getMessage(), e);
        }
        RouterSets.Served info = new RouterSets.Served(id, base, view.config().routingLayers(), ep.created());
        routerSets.put(id, new RouterSetModel(ep, view, info, dir));
        metrics.register(ep);
        try {
            // recorded on its base, which is all it needs: a set it was trained on may be gone by the next start
            servedSets.put(new ServedRouterSetsFile.Entry(id, base, dir.toAbsolutePath().toString()));
        } catch (java.io.UncheckedIOException e) { // served now; a restart just will not serve it again
            LOG.errorf("router set %s is served but could not be recorded for restarts: %s", id, e.getMessage());
        }
        LOG.infof("serving router set %s from %s on %s's weights (routed %s, KV %d tokens)", id, dir, base,
                view.config().routingLayers(), kvTokens);
        return info;
    }

    /** Stops serving {@code id}, for good: a restart does not serve it again. */
    @Override
    public synchronized boolean remove(String id) {
        if (!stopServing(id)) {
            return false;
        }
        try {
            servedSets.remove(id);
        } catch (java.io.UncheckedIOException e) {
            LOG.errorf("router set %s is no longer served, but a restart will serve it again: %s", id, e.getMessage());
        }
        return true;
    }

    /**
     * After a restart, serves the router sets that were served when the service stopped, in the order they were
     * served; false when no list was ever recorded (a first start). A set whose directory is gone is dropped from
     * the list; one that cannot be served now is logged and kept.
     */
    public synchronized boolean restoreRouterSets() {
        Optional<List<ServedRouterSetsFile.Entry>> recorded;
        try {
            recorded = servedSets.read();
        } catch (java.io.UncheckedIOException e) {
            LOG.errorf("not serving the router sets served before the restart: %s", e.getMessage());
            return true; // unreadable is not "never recorded": the jobs' results are not served in its place
        }
        if (recorded.isEmpty()) {
            return false;
        }
        for (ServedRouterSetsFile.Entry entry : recorded.get()) {
            Path dir = Path.of(entry.dir());
            if (find(entry.id()).isPresent()) {
                continue;
            }
            if (!Files.isDirectory(dir)) {
                LOG.errorf("not serving router set %s: %s is gone", entry.id(), dir);
                try {
                    servedSets.remove(entry.id());
                } catch (java.io.UncheckedIOException e) { // a full or read-only volume: listed, and passed by again
                    LOG.errorf("router set %s stays listed: %s", entry.id(), e.getMessage());
                }
                continue;
            }
            try {
                serve(entry.id(), entry.model(), dir);
            } catch (IllegalArgumentException e) { // refused alone: the base and the other sets serve on
                LOG.errorf("not serving router set %s after the restart: %s", entry.id(), e.getMessage());
            }
        }
        return true;
    }

    /** Stops serving {@code id} (at shutdown, or taken down), leaving the list a restart serves as it is. */
    private boolean stopServing(String id) {
        RouterSetModel set = routerSets.remove(id);
        if (set == null) {
            return false;
        }
        set.endpoint().engine().close();
        if (set.endpoint().engine().stopped()) {
            set.view().close();
        } else { // a step still runs on the set's routers: they stay allocated (logged by the engine)
            LOG.warnf("router set %s: a step outlived the engine's close; its routers are left to the process", id);
        }
        metrics.unregister(id);
        LOG.infof("stopped serving router set %s", id);
        return true;
    }

    void onStart(@Observes StartupEvent event) {
        Thread loader = new Thread(this::load, "flexiserve-loader");
        loader.setDaemon(true);
        loader.start();
    }

    /** The first sign of a shutdown (SIGTERM): refuse new requests and take readiness down while streams finish. */
    void onShutdownStarted(@Observes io.quarkus.runtime.ShutdownDelayInitiatedEvent event) {
        state.draining();
        LOG.info("shutting down: new requests get 503 while running ones finish");
    }

    /**
     * Drains before closing: new requests get 503 and readiness goes down at once, running and queued
     * sequences get up to {@code flexiserve.engine.shutdown-grace-seconds} to finish, and only then are the
     * engines closed (aborting whatever is left).
     */
    void onStop(@Observes ShutdownEvent event) {
        state.draining();
        long deadline = System.nanoTime() + config.engine().shutdownGraceSeconds() * 1_000_000_000L;
        for (ModelEndpoint e : all()) {
            try {
                if (!e.engine().awaitIdle(deadline)) {
                    LOG.warnf("%s: %d sequences still running after the %d s shutdown grace; aborting them", e.name(),
                            e.engine().stats().running() + e.engine().stats().waiting(), config.engine().shutdownGraceSeconds());
                }
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        boolean stepsEnded = true; // a router set's view reads every base weight too
        for (String id : List.copyOf(routerSets.keySet())) {
            Engine engine = routerSets.get(id).endpoint().engine();
            stopServing(id); // a restart serves it again
            stepsEnded &= engine.stopped();
        }
        ModelEndpoint e = endpoint;
        endpoint = null;
        if (e != null) {
            e.engine().close();
            stepsEnded &= e.engine().stopped();
        }
        ServedModel model = served;
        if (model != null && stepsEnded) { // never free weights a step still reads
            model.close();
        }
    }

    private void load() {
        Path dir = null;
        String name = null;
        try {
            dir = config.model().path().orElseGet(() -> DemoModel.ensure(config.dataDir()));
            name = config.model().name().orElse(config.model().path().isPresent()
                    ? dir.getFileName().toString() : DemoModel.NAME);
            serveBase(dir, name);
        } catch (Throwable e) { // OutOfMemoryError and native failures included: nothing may leave a process that never serves
            String reason = LoadFailure.explain(e, dir, config.model().dtype());
            boolean exit = config.model().exitOnLoadFailure();
            String line = String.format("cannot serve model %s: %s%s", name, reason,
                    exit ? " Exiting with status 1 (flexiserve.model.exit-on-load-failure)." : "");
            if (LoadFailure.expected(e)) {
                LOG.error(line);
            } else {
                LOG.error(line, e);
            }
            state.failed(reason);
            if (exit) {
                io.quarkus.runtime.Quarkus.asyncExit(1);
            }
        }
    }

    /** Loads, warms up and starts serving the base model; any failure propagates to {@link #load}. */
    private void serveBase(Path dir, String name) {
        Device device = device();
        int maxPositions = config.model().maxModelLen().orElse(0);
        boolean premultiply = config.model().premultiplyRouterHead();
        String dtype = config.model().dtype();
        metrics.registerLoadProgress(name, state);
        FlexiServeConfig.Engine e = config.engine();
        MemoryPlan memory = MemoryPlan.detect(config.memory());
        ModelConfig shape = device.isGpu() ? null : ModelConfig.read(dir);
        if (shape != null && dtype.equals("auto")) {
            MemoryPlan.AutoChoice choice = memory.resolveAuto(shape, ModelOptions.of(device, dtype, maxPositions,
                    premultiply), e.maxBatchTokens(), e.maxNumSeqs());
            LOG.infof("dtype auto is %s on this CPU: %s", choice.dtype(), choice.reason());
            dtype = choice.dtype();
        }
        ModelOptions options = ModelOptions.of(device, dtype, maxPositions, premultiply);
        if (shape != null) {
            memory.checkFits(name, shape, options, dtype, e.maxBatchTokens(), e.maxNumSeqs());
        }
        LOG.infof("loading model %s from %s on %s (activations %s, weights %s; memory %s)", name, dir, device,
                options.dtype(), options.weightDtype(), memory.describe());
        long start = System.nanoTime();
        ProgressLog progress = new ProgressLog(name, start, state);
        FlexiDepthModel model = ModelLoader.load(dir, options, progress::loaded,
                config.model().packedCache() ? config.model().packedCacheDir().orElse(config.dataDir().resolve("packed"))
                        : null, dtype);
        LOG.infof("model %s as %s: %s", name, dtype, model.forwardPaths());
        try {
            Tokenizer tokenizer = Tokenizer.load(dir);
            ChatTemplate template = ChatTemplate.loadForServing(dir);
            GenerationConfig generation = GenerationConfig.read(dir, tokenizer, template);
            state.warmingUp();
            warmUp(model);
            System.gc(); // loading's Java garbage (conversion scratch): the heap shrinks before the KV cache is sized
            DataType planned = options.kvDtype(model.config()); // the preflight's dtype for one sequence's KV
            if (model.kvDtype() != planned) {
                LOG.warnf("model %s keeps its KV cache in %s where the preflight planned %s; the cache is sized in %s",
                        name, model.kvDtype(), planned, model.kvDtype());
            }
            int kvTokens = e.kvCacheTokens().orElseGet(() -> device.isGpu()
                    ? MemoryPlan.kvTokensWithin((long) (freeGpuBytes(device) * 0.8),
                            KvCache.bytesPerToken(model.config(), model.kvDtype()), model.maxPositions(), e.maxNumSeqs())
                    : memory.kvTokens(model.config(), model.kvDtype(), model.maxPositions(), e.maxBatchTokens(),
                            e.maxNumSeqs()));
            EngineConfig engineConfig = engineConfig(model.maxPositions(), kvTokens);
            Engine engine = new Engine(model, engineConfig, name,
                    metrics.listenerFor(name, model.config().numLayers(), model.config().routingLayers()));
            served = new ServedModel(name, dir, model, tokenizer, template, generation);
            endpoint = new ModelEndpoint(name, engine, tokenizer, template, generation, model.config().numLayers(),
                    model.config().routingLayers(), model.config().vocabSize(), System.currentTimeMillis() / 1000);
        } catch (RuntimeException | Error failure) {
            if (served == null) {
                model.close();
            }
            throw failure;
        }
        metrics.register(endpoint);
        LOG.infof("engine for %s: %s; KV cache in %s (%d KB a token); resident %.1f GB, %.1f GB of the budget left",
                name, endpoint.engine().config(), model.kvDtype(),
                KvCache.bytesPerToken(model.config(), model.kvDtype()) / 1024, MemoryPlan.residentBytes() / 1e9,
                memory.free() / 1e9);
        state.ready();
        readyEvents.fire(new BaseModelReady(name));
        LOG.infof("model %s ready in %.1f s (%d layers, routed %s)", name, (System.nanoTime() - start) / 1e9,
                model.config().numLayers(), model.config().routingLayers());
    }

    /** One small forward, so the first request does not pay for page faults and kernel selection. */
    private static void warmUp(FlexiDepthModel model) {
        try (KvCache cache = model.newKvCache(8)) {
            model.forward(StepBatch.of(new SequenceChunk(0, 0, new int[] {0, 1, 2, 3}, 0.5f, true)), cache);
            model.forward(StepBatch.of(new SequenceChunk(0, 4, new int[] {4}, 0.5f, true)), cache);
        }
    }

    /** The configured batching limits with a context limit and a KV budget. */
    private EngineConfig engineConfig(int maxModelLen, int kvTokens) {
        FlexiServeConfig.Engine e = config.engine();
        EngineConfig fitted = EngineConfig.fitted(e.maxNumSeqs(), e.maxBatchTokens(), e.maxQueuedRequests(), kvTokens,
                maxModelLen, e.kvBlockSize(), e.prefixCaching());
        if (fitted.maxModelLen() < maxModelLen) {
            LOG.warnf("context limited to %d tokens, what the KV cache holds (%d tokens), not the model's %d: raise "
                    + "flexiserve.engine.kv-cache-tokens, or set flexiserve.model.max-model-len to say so",
                    fitted.maxModelLen(), fitted.kvCacheTokens(), maxModelLen);
        }
        return fitted;
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
