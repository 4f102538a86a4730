package io.flexiserve.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;

/**
 * A loaded FlexiDepth-Llama (or plain Llama) network: embedding, decoder layers, final norm and LM head.
 * {@link #forward} runs one step over the token rows of several sequences (prompt chunks and decode rows
 * together) and returns next-token logits plus what every router decided. Not thread-safe: one engine
 * thread owns a model and its caches.
 */
public final class FlexiDepthModel implements AutoCloseable {

    private final ModelConfig config;
    private final NDManager manager;
    private final DataType dtype;
    private final Rope rope;
    private final NDArray embedTokens;    // (V, D)
    private final DecoderLayer[] layers;  // L
    private final RmsNorm norm;           // (D)
    private final Linear lmHead;          // (V, D)
    private final CheckpointTensors tensors; // keeps zero-copy weight mappings alive

    FlexiDepthModel(ModelConfig config, NDManager manager, DataType dtype, Rope rope, NDArray embedTokens,
                    DecoderLayer[] layers, RmsNorm norm, Linear lmHead, CheckpointTensors tensors) {
        this.config = config;
        this.manager = manager;
        this.dtype = dtype;
        this.rope = rope;
        this.embedTokens = embedTokens;
        this.layers = layers;
        this.norm = norm;
        this.lmHead = lmHead;
        this.tensors = tensors;
    }

    public ModelConfig config() {
        return config;
    }

    public DataType dtype() {
        return dtype;
    }

    public Device device() {
        return manager.getDevice();
    }

    /** Longest sequence (prompt + generated) this model instance can run. */
    public int maxPositions() {
        return rope.maxPositions();
    }

    /** A KV cache for {@code capacity} token rows, shared by all sequences of an engine. */
    public KvCache newKvCache(int capacity) {
        return new KvCache(manager, config, capacity, dtype);
    }

    /** One step: every chunk's rows through every layer, writing their keys and values into the cache. */
    public ForwardResult forward(StepBatch batch, KvCache cache) {
        checkFits(batch, cache);
        if (JniUtils.isGradMode()) {
            JniUtils.setGradMode(false); // grad mode is per thread and on by default (DJL-NOTES trap 4)
        }
        RoutingTrace trace = new RoutingTrace(config, batch.rows());
        try (NDScope ignored = new NDScope()) {
            NDArray x = residual(new StepContext(batch, cache, trace, manager, rope), layers.length);
            return new ForwardResult(logits(x, batch), trace);
        }
    }

    /** The residual stream of the batch's last row after the first {@code layerCount} layers (for layer-level tests). */
    float[] hiddenAfter(StepBatch batch, KvCache cache, int layerCount) {
        checkFits(batch, cache);
        JniUtils.setGradMode(false);
        try (NDScope ignored = new NDScope()) {
            StepContext step = new StepContext(batch, cache, new RoutingTrace(config, batch.rows()), manager, rope);
            return residual(step, layerCount).get(batch.rows() - 1).toFloatArray();
        }
    }

    /** The residual stream of the step's rows after embedding and the first {@code layerCount} layers: (N, D). */
    private NDArray residual(StepContext step, int layerCount) {
        NDArray x = embedTokens.get(manager.create(step.batch.tokens())); // (N, D)
        for (int l = 0; l < layerCount; l++) {
            x = layers[l].forward(x, step);
        }
        return x;
    }

    /** lm_head(norm(x)) for the last row of each chunk that wants logits: (S, D) -> S x (V). */
    private float[][] logits(NDArray x, StepBatch batch) {
        int chunks = batch.chunks().size();
        long[] rows = new long[(int) batch.chunks().stream().filter(SequenceChunk::wantLogits).count()];
        float[][] out = new float[chunks][];
        if (rows.length == 0) {
            return out;
        }
        for (int c = 0, s = 0; c < chunks; c++) {
            if (batch.chunks().get(c).wantLogits()) {
                rows[s++] = batch.lastRow(c);
            }
        }
        float[] flat = lmHead.forward(norm.forward(x.get(manager.create(rows))))
                .toType(DataType.FLOAT32, false).toFloatArray(); // (S, V)
        int vocab = config.vocabSize();
        for (int c = 0, s = 0; c < chunks; c++) {
            if (batch.chunks().get(c).wantLogits()) {
                out[c] = new float[vocab];
                System.arraycopy(flat, s++ * vocab, out[c], 0, vocab);
            }
        }
        return out;
    }

    private void checkFits(StepBatch batch, KvCache cache) {
        for (SequenceChunk chunk : batch.chunks()) {
            if (chunk.endPosition() > maxPositions()) {
                throw new IllegalArgumentException("sequence of " + chunk.endPosition()
                        + " tokens exceeds the model's " + maxPositions() + " positions");
            }
            if (chunk.kvOffset() + chunk.endPosition() > cache.capacity()) {
                throw new IllegalArgumentException("KV rows up to " + (chunk.kvOffset() + chunk.endPosition())
                        + " exceed the cache capacity " + cache.capacity());
            }
            for (int token : chunk.tokens()) {
                if (token < 0 || token >= config.vocabSize()) {
                    throw new IllegalArgumentException("token id " + token + " outside the vocabulary of " + config.vocabSize());
                }
            }
        }
    }

    @Override
    public void close() {
        manager.close();
        tensors.close();
    }
}
