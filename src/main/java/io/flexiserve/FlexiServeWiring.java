package io.flexiserve;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
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
import java.nio.file.Path;
import org.jboss.logging.Logger;

/**
 * Builds the core objects from {@link FlexiServeConfig}: resolves the checkpoint (the generated demo model
 * when none is configured), loads it on a background thread so that the started/ready health checks can
 * report progress, warms it up, and closes it at shutdown.
 */
@ApplicationScoped
public class FlexiServeWiring {

    private static final Logger LOG = Logger.getLogger(FlexiServeWiring.class);

    private final FlexiServeConfig config;
    private final ServingState state = new ServingState();
    private volatile ServedModel served;

    public FlexiServeWiring(FlexiServeConfig config) {
        this.config = config;
    }

    @Produces
    @ApplicationScoped
    ServingState servingState() {
        return state;
    }

    /** The served model once ready, else null. */
    public ServedModel served() {
        return served;
    }

    void onStart(@Observes StartupEvent event) {
        Thread loader = new Thread(this::load, "flexiserve-loader");
        loader.setDaemon(true);
        loader.start();
    }

    void onStop(@Observes ShutdownEvent event) {
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
            ModelOptions options = new ModelOptions(device, dtype(device), config.model().maxModelLen().orElse(0),
                    config.model().premultiplyRouterHead());
            LOG.infof("loading model %s from %s on %s as %s", name, dir, device, options.dtype());
            long start = System.nanoTime();
            ProgressLog progress = new ProgressLog(name, start, state);
            FlexiDepthModel model = ModelLoader.load(dir, options, progress::loaded);
            Tokenizer tokenizer = Tokenizer.load(dir);
            ChatTemplate template = ChatTemplate.load(dir);
            GenerationConfig generation = GenerationConfig.read(dir, tokenizer, template.eosToken());
            state.warmingUp();
            warmUp(model);
            served = new ServedModel(name, dir, model, tokenizer, template, generation);
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

    private Device device() {
        String spec = config.model().device().orElse(Engine.getInstance().getGpuCount() > 0 ? "gpu" : "cpu").trim();
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

    private DataType dtype(Device device) {
        return switch (config.model().dtype()) {
            case "auto" -> device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32;
            case "f32", "float32" -> DataType.FLOAT32;
            case "f16", "float16" -> DataType.FLOAT16;
            default -> throw new IllegalArgumentException("flexiserve.model.dtype must be auto, f32 or f16, not '"
                    + config.model().dtype() + "'");
        };
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
