package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The attention keys and values of every layer, preallocated for C token rows. Where a sequence's tokens sit is
 * its {@link KvRows}: a contiguous range (its keys are then a view) or blocks of rows from the engine's paged
 * allocator (gathered into a copy when they are not consecutive).
 */
public final class KvCache implements AutoCloseable {

    private final NDManager manager;
    private final NDArray[] keys;   // per layer (C, Hkv, Dh)
    private final NDArray[] values; // per layer (C, Hkv, Dh)
    private final int capacity;
    private ByteBuffer[] keyBytes;   // per layer, views of keys' memory for Java code; made on first use
    private ByteBuffer[] valueBytes;

    public KvCache(NDManager parent, ModelConfig config, int capacity, DataType dtype) {
        this.manager = parent.newSubManager();
        this.capacity = capacity;
        this.keys = new NDArray[config.numLayers()];
        this.values = new NDArray[config.numLayers()];
        Shape shape = new Shape(capacity, config.numKvHeads(), config.headDim());
        for (int l = 0; l < config.numLayers(); l++) { // uninitialised: pages are touched only as rows fill
            keys[l] = manager.create(shape, dtype);
            values[l] = manager.create(shape, dtype);
        }
    }

    /** Capacity C in tokens. */
    public int capacity() {
        return capacity;
    }

    /** Bytes one token's keys and values take over all layers. */
    public static long bytesPerToken(ModelConfig config, DataType dtype) {
        return 2L * config.numLayers() * config.numKvHeads() * config.headDim() * dtype.getNumOfBytes();
    }

    /** Writes k, v: (N, Hkv, Dh) into the given cache rows (N), in place. */
    void write(int layer, NDArray rows, NDArray k, NDArray v) {
        NDIndex index = new NDIndex("{}", rows);
        keys[layer].set(index, k);
        values[layer].set(index, v);
    }

    /** A view of rows [from, to) of a layer's keys: (T, Hkv, Dh). */
    NDArray keys(int layer, int from, int to) {
        return keys[layer].get(new NDIndex("{}:{}", from, to));
    }

    /** A view of rows [from, to) of a layer's values: (T, Hkv, Dh). */
    NDArray values(int layer, int from, int to) {
        return values[layer].get(new NDIndex("{}:{}", from, to));
    }

    /** A layer's keys at the given rows (T), in that order: (T, Hkv, Dh), a copy. */
    NDArray keysAt(int layer, NDArray rows) {
        return keys[layer].get(new NDIndex("{}", rows));
    }

    /** A layer's values at the given rows, as {@link #keysAt}. */
    NDArray valuesAt(int layer, NDArray rows) {
        return values[layer].get(new NDIndex("{}", rows));
    }

    /**
     * Whether Java code can read and write this cache in place ({@link #keyBytes}, {@link #valueBytes}): f32 on the
     * CPU, each layer's tensor within a Java buffer's 2 GiB.
     */
    boolean javaViews() {
        NDArray k = keys[0];
        return k.getDataType() == DataType.FLOAT32 && !k.getDevice().isGpu() && k.size() * Float.BYTES <= Integer.MAX_VALUE;
    }

    /** A layer's keys as a buffer in native order over the tensor's own memory: (C, Hkv, Dh) floats, row-major. */
    ByteBuffer keyBytes(int layer) {
        views();
        return keyBytes[layer];
    }

    /** A layer's values, as {@link #keyBytes}. */
    ByteBuffer valueBytes(int layer) {
        views();
        return valueBytes[layer];
    }

    private void views() {
        if (keyBytes != null) {
            return;
        }
        if (!javaViews()) {
            throw new IllegalStateException("this cache has no Java views (f32 CPU tensors under 2 GiB only)");
        }
        keyBytes = new ByteBuffer[keys.length];
        valueBytes = new ByteBuffer[keys.length];
        for (int l = 0; l < keys.length; l++) {
            keyBytes[l] = keys[l].toByteBuffer(true).order(ByteOrder.nativeOrder()); // contiguous: a view, no copy
            valueBytes[l] = values[l].toByteBuffer(true).order(ByteOrder.nativeOrder());
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
