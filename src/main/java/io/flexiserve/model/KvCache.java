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
 * its {@link KvRows}: a contiguous range (its keys are then a view, where the cache stores the compute dtype) or
 * blocks of rows from the engine's paged allocator (gathered into a copy when they are not consecutive).
 *
 * <p>The cache stores its rows in one dtype and hands them to tensor code in the compute dtype: on the CPU's Java
 * path it stores f16 ({@link FlexiDepthModel#kvDtype}), half the memory of the f32 activations, and the tensor path
 * then writes rows rounded to f16 and reads them widened back, as the native attention kernel does.
 */
public final class KvCache implements AutoCloseable {

    private final NDManager manager;
    private final NDArray[] keys;   // per layer (C, Hkv, Dh)
    private final NDArray[] values; // per layer (C, Hkv, Dh)
    private final int capacity;
    private final DataType compute; // what keys() and values() hand out
    private ByteBuffer[] keyBytes;   // per layer, views of keys' memory for Java code; made on first use
    private ByteBuffer[] valueBytes;

    /** A cache that stores its rows in the compute dtype. */
    public KvCache(NDManager parent, ModelConfig config, int capacity, DataType dtype) {
        this(parent, config, capacity, dtype, dtype);
    }

    /** A cache that stores its rows as {@code storage} and hands them to tensor code as {@code compute}. */
    public KvCache(NDManager parent, ModelConfig config, int capacity, DataType storage, DataType compute) {
        this.manager = parent.newSubManager();
        this.capacity = capacity;
        this.compute = compute;
        this.keys = new NDArray[config.numLayers()];
        this.values = new NDArray[config.numLayers()];
        Shape shape = new Shape(capacity, config.numKvHeads(), config.headDim());
        for (int l = 0; l < config.numLayers(); l++) { // uninitialised: pages are touched only as rows fill
            keys[l] = manager.create(shape, storage);
            values[l] = manager.create(shape, storage);
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

    /** The dtype the rows are stored in. */
    DataType storage() {
        return keys[0].getDataType();
    }

    /** Writes k, v: (N, Hkv, Dh) into the given cache rows (N), in place (rounded to the storage dtype). */
    void write(int layer, NDArray rows, NDArray k, NDArray v) {
        NDIndex index = new NDIndex("{}", rows);
        keys[layer].set(index, k.toType(storage(), false));
        values[layer].set(index, v.toType(storage(), false));
    }

    /** Rows [from, to) of a layer's keys: (T, Hkv, Dh), a view where the cache stores the compute dtype. */
    NDArray keys(int layer, int from, int to) {
        return keys[layer].get(new NDIndex("{}:{}", from, to)).toType(compute, false);
    }

    /** Rows [from, to) of a layer's values, as {@link #keys}. */
    NDArray values(int layer, int from, int to) {
        return values[layer].get(new NDIndex("{}:{}", from, to)).toType(compute, false);
    }

    /** A layer's keys at the given rows (T), in that order: (T, Hkv, Dh), a copy. */
    NDArray keysAt(int layer, NDArray rows) {
        return keys[layer].get(new NDIndex("{}", rows)).toType(compute, false);
    }

    /** A layer's values at the given rows, as {@link #keysAt}. */
    NDArray valuesAt(int layer, NDArray rows) {
        return values[layer].get(new NDIndex("{}", rows)).toType(compute, false);
    }

    /**
     * Whether Java code can read and write this cache in place ({@link #keyBytes}, {@link #valueBytes}): f32 or f16
     * on the CPU, each layer's tensor within a Java buffer's 2 GiB.
     */
    boolean javaViews() {
        NDArray k = keys[0];
        DataType t = k.getDataType();
        return (t == DataType.FLOAT32 || t == DataType.FLOAT16) && !k.getDevice().isGpu()
                && k.size() * t.getNumOfBytes() <= Integer.MAX_VALUE;
    }

    /** Whether the Java views hold f16 values (else f32). */
    boolean halves() {
        return storage() == DataType.FLOAT16;
    }

    /**
     * A layer's keys as a buffer in native order over the tensor's own memory: (C, Hkv, Dh) values of the storage
     * dtype, row-major.
     */
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
            throw new IllegalStateException("this cache has no Java views (f32 or f16 CPU tensors under 2 GiB only)");
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
