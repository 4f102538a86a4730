package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.flexiserve.model.checkpoint.CheckpointException;
import io.flexiserve.model.checkpoint.CheckpointTensors;
import io.flexiserve.model.checkpoint.SafetensorsWriter;
import io.flexiserve.model.checkpoint.TensorDtype;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The router and adapter tensors of every routed layer (the 7 {@code router*} tensors of docs/model.md
 * section 2), in f32 and writable: what fine-tuning trains and what a fine-tuned router set holds.
 * Tensors keep their checkpoint names ({@code model.layers.{i}.router.router_enc.weight}, ...), so a
 * router set file is a safetensors file that overlays a base checkpoint.
 */
public final class RouterWeights implements AutoCloseable {

    /** The file name of a router set inside an output or checkpoint directory. */
    public static final String FILE = "router.safetensors";
    private static final double INIT_STD = 0.02;

    private final ModelConfig config;              // the base shape with these routing layers
    private final Map<String, NDArray> tensors;    // checkpoint name -> f32 array, in layer order
    private final NDManager manager;

    private RouterWeights(ModelConfig config, Map<String, NDArray> tensors, NDManager manager) {
        this.config = config;
        this.tensors = tensors;
        this.manager = manager;
    }

    /** The tensor names and shapes of one routed layer. */
    static Map<String, long[]> shapes(ModelConfig c, int layer) {
        String p = "model.layers." + layer + ".";
        long d = c.hiddenSize();
        long r = c.routerDim();
        long m = c.adapterDim();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put(p + "router.router_enc.weight", new long[] {r, d});
        shapes.put(p + "router.router_norm.weight", new long[] {r});
        shapes.put(p + "router.router_dec.weight", new long[] {d, r});
        shapes.put(p + "router.router_head.weight", new long[] {1, d});
        shapes.put(p + "router_proj.gate_proj.weight", new long[] {m, d});
        shapes.put(p + "router_proj.down_proj.weight", new long[] {m, d});
        shapes.put(p + "router_proj.up_proj.weight", new long[] {d, m});
        return shapes;
    }

    /**
     * Fresh routers for {@code layers} of a plain Llama (or replacing a checkpoint's), initialised as
     * docs/model.md section 6 says: linear weights N(0, 0.02^2), {@code router_norm.weight} = 1.
     */
    public static RouterWeights initialise(ModelConfig base, List<Integer> layers, NDManager manager, long seed) {
        ModelConfig config = base.withRoutingLayers(layers);
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (int layer : config.routingLayers()) {
            shapes(config, layer).forEach((name, shape) -> {
                float[] values = new float[Math.toIntExact(new Shape(shape).size())];
                if (name.endsWith("router_norm.weight")) {
                    java.util.Arrays.fill(values, 1f);
                } else {
                    Random random = new Random(seed * 1_000_003L + name.hashCode());
                    for (int i = 0; i < values.length; i++) {
                        values[i] = (float) (INIT_STD * random.nextGaussian());
                    }
                }
                tensors.put(name, manager.create(values, new Shape(shape)));
            });
        }
        return new RouterWeights(config, tensors, manager);
    }

    /** Writable f32 copies of the routers of the checkpoint at {@code dir}, which must be a FlexiDepth checkpoint. */
    public static RouterWeights fromCheckpoint(Path dir, NDManager manager) {
        ModelConfig config = ModelConfig.read(dir);
        if (config.routingLayers().isEmpty()) {
            throw new CheckpointException(dir, "not a FlexiDepth checkpoint: config.json has no routing_layers");
        }
        try (CheckpointTensors checkpoint = CheckpointTensors.open(dir)) {
            return copy(config, checkpoint, manager);
        }
    }

    /** Reads a router set file written by {@link #write} for the base shape {@code base}, checking every tensor. */
    public static RouterWeights read(Path file, ModelConfig base, List<Integer> layers, NDManager manager) {
        try (CheckpointTensors set = CheckpointTensors.openFile(file)) {
            return copy(base.withRoutingLayers(layers), set, manager);
        }
    }

    private static RouterWeights copy(ModelConfig config, CheckpointTensors source, NDManager manager) {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (int layer : config.routingLayers()) {
            shapes(config, layer).forEach((name, shape) -> {
                NDArray mapped = source.load(manager, name, DataType.FLOAT32, shape);
                tensors.put(name, mapped.duplicate()); // off the read-only mapping, so it can be trained
                mapped.close();
            });
        }
        return new RouterWeights(config, tensors, manager);
    }

    /** Writes every tensor as f32 safetensors. */
    public void write(Path file) throws IOException {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        tensors.forEach((name, array) -> entries.add(SafetensorsWriter.Entry.of(name, array.getShape().getShape(),
                array.toFloatArray())));
        SafetensorsWriter.write(file, TensorDtype.F32, entries);
    }

    /** The base shape with these routing layers. */
    public ModelConfig config() {
        return config;
    }

    public List<Integer> layers() {
        return config.routingLayers();
    }

    /** Name to array, in layer order. */
    public Map<String, NDArray> tensors() {
        return Collections.unmodifiableMap(tensors);
    }

    public Collection<NDArray> arrays() {
        return tensors.values();
    }

    NDArray get(int layer, String suffix) {
        return tensors.get("model.layers." + layer + "." + suffix);
    }

    /** The manager that owns the arrays (and the optimizer state created next to them). */
    public NDManager manager() {
        return manager;
    }

    @Override
    public void close() {
        tensors.values().forEach(NDArray::close);
    }
}
