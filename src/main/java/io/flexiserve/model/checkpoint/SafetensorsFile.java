package io.flexiserve.model.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A safetensors file: an 8-byte little-endian header length, a JSON header mapping names to
 * {@code {dtype, shape, data_offsets}}, then the raw data. Tensors are read through read-only memory
 * mappings, so nothing is copied onto the Java heap and the pages are shared with the OS file cache.
 * An NDArray that wraps such a mapping must never be written in place (it would crash the JVM, docs/djl-traps.md,
 * trap 2): weights are read-only during serving, and the trainer copies the tensors it updates.
 */
public final class SafetensorsFile implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
    }

    /** Opens and validates the header; a malformed or truncated file fails here, naming the file. */
    public static SafetensorsFile open(Path path) {
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new CheckpointException(path, "missing: the checkpoint names this file but it does not exist", e);
        } catch (IOException e) {
            throw new CheckpointException(path, "cannot open: " + e.getMessage(), e);
        }
        try {
            long size = channel.size();
            if (size < 8) {
                throw new CheckpointException(path, "truncated: " + size + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER || headerLen > size - 8) {
                throw new CheckpointException(path, "malformed header: header length " + headerLen
                        + " does not fit a file of " + size + " bytes");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(channel, header, 8);
            String json = new String(header.array(), StandardCharsets.UTF_8);
            Map<String, TensorInfo> tensors = parseHeader(path, json, size - 8 - headerLen);
            return new SafetensorsFile(path, channel, 8 + headerLen, tensors);
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            if (e instanceof CheckpointException ce) {
                throw ce;
            }
            throw new CheckpointException(path, "cannot read: " + e.getMessage(), e);
        }
    }

    public Path path() {
        return path;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /**
     * Maps {@code length} bytes of a tensor starting {@code offset} bytes into it, little-endian and
     * read-only, so the caller may hand it to DJL without copying.
     */
    public ByteBuffer map(TensorInfo tensor, long offset, int length) {
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + tensor.begin() + offset, length)
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new CheckpointException(path, "cannot map tensor " + tensor.name() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Unmaps a buffer {@link #map} returned, now rather than when the garbage collector finds it: a converted
     * checkpoint's pages would otherwise stay mapped, and counted in the process's resident memory, for as long as
     * the heap is big enough not to collect them (the 8B shape in bf16 held 4.8 GB more at ready with a 6 GB heap
     * than with a 2 GB one). Nothing may read the buffer, or a tensor viewing it, afterwards.
     */
    public static void unmap(ByteBuffer mapped) {
        UNMAPPER.invokeCleaner(mapped);
    }

    private static final sun.misc.Unsafe UNMAPPER = unsafe();

    private static sun.misc.Unsafe unsafe() {
        try {
            java.lang.reflect.Field field = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            field.setAccessible(true);
            return (sun.misc.Unsafe) field.get(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("sun.misc.Unsafe is not available to unmap checkpoint files", e);
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static Map<String, TensorInfo> parseHeader(Path path, String json, long dataSize) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new CheckpointException(path, "malformed header: not JSON (" + e.getMessage() + ")");
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException(path, "malformed header: not a JSON object");
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getKey().equals("__metadata__")) {
                tensors.put(e.getKey(), parseTensor(path, e.getKey(), e.getValue(), dataSize));
            }
        }
        return Map.copyOf(tensors);
    }

    private static TensorInfo parseTensor(Path path, String name, JsonNode node, long dataSize) {
        String dtypeName = node.path("dtype").asText("");
        TensorDtype dtype = TensorDtype.parse(dtypeName);
        if (dtype == null) {
            throw new CheckpointException(path, "tensor " + name + " has unknown dtype '" + dtypeName
                    + "' (supported: F32, F16, BF16)");
        }
        JsonNode shapeNode = node.path("shape");
        JsonNode offsets = node.path("data_offsets");
        if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw new CheckpointException(path, "malformed header: tensor " + name + " lacks shape or data_offsets");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong(-1);
            if (shape[i] < 0) {
                throw new CheckpointException(path, "malformed header: tensor " + name + " has shape " + shapeNode);
            }
        }
        TensorInfo info = new TensorInfo(name, dtype, shape, offsets.get(0).asLong(-1), offsets.get(1).asLong(-1));
        long expected = info.elementCount() * dtype.bytes();
        if (info.begin() < 0 || info.end() - info.begin() != expected) {
            throw new CheckpointException(path, "malformed header: tensor " + name + " " + info.shapeString() + " "
                    + dtype + " needs " + expected + " bytes but data_offsets are " + offsets);
        }
        if (info.end() > dataSize) {
            throw new CheckpointException(path, "truncated: tensor " + name + " ends at byte " + info.end()
                    + " of the data section but the file holds only " + dataSize);
        }
        return info;
    }

    private static void readFully(FileChannel channel, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            int n = channel.read(buf, position + buf.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing a read-only channel cannot lose data
        }
    }
}
