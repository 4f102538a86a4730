package io.flexiserve.model.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;

/** Writes a safetensors file, streaming each tensor's values so that no tensor is held whole in memory. */
public final class SafetensorsWriter {

    private static final int BUFFER_BYTES = 1 << 20;

    private SafetensorsWriter() {
    }

    /** One tensor: its name, shape and a source of its values in row-major order. */
    public record Entry(String name, long[] shape, Supplier<DoubleSupplier> values) {

        /** A tensor with the given values. */
        public static Entry of(String name, long[] shape, float[] data) {
            return new Entry(name, shape, () -> {
                int[] i = {0};
                return () -> data[i[0]++];
            });
        }

        long elementCount() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /**
     * Writes the entries in order, all stored as {@code dtype}; the header is padded to 8 bytes as HF does. The file
     * appears whole or not at all (written beside it, then renamed): one cut short is never taken for a checkpoint.
     */
    public static void write(Path file, TensorDtype dtype, List<Entry> entries) throws IOException {
        Path partial = file.resolveSibling(file.getFileName() + ".partial");
        try {
            writeTo(partial, dtype, entries);
            io.flexiserve.model.FileTrees.replace(partial, file);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(partial);
            throw e;
        }
    }

    private static void writeTo(Path file, TensorDtype dtype, List<Entry> entries) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Entry e : entries) {
            long bytes = e.elementCount() * dtype.bytes();
            ObjectNode t = header.putObject(e.name());
            t.put("dtype", dtype.name());
            var shape = t.putArray("shape");
            for (long d : e.shape()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] headerBytes = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (headerBytes.length + 7) / 8 * 8;
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.allocate(Math.max(BUFFER_BYTES, 8 + padded)).order(ByteOrder.LITTLE_ENDIAN);
            buf.putLong(padded).put(headerBytes);
            while (buf.position() < 8 + padded) {
                buf.put((byte) ' ');
            }
            for (Entry e : entries) {
                DoubleSupplier values = e.values().get();
                for (long i = 0, n = e.elementCount(); i < n; i++) {
                    if (buf.remaining() < 4) {
                        drain(out, buf);
                    }
                    put(buf, dtype, (float) values.getAsDouble());
                }
            }
            drain(out, buf);
        }
    }

    private static void put(ByteBuffer buf, TensorDtype dtype, float v) {
        switch (dtype) {
            case F32 -> buf.putFloat(v);
            case F16 -> buf.putShort(toF16(v));
            case BF16 -> buf.putShort(toBf16(v));
        }
    }

    private static void drain(FileChannel out, ByteBuffer buf) throws IOException {
        buf.flip();
        while (buf.hasRemaining()) {
            out.write(buf);
        }
        buf.clear();
    }

    /** Round-to-nearest-even to bfloat16 (the top 16 bits of an f32). */
    public static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** Round-to-nearest-even to IEEE half precision, with subnormals, infinities and NaN. */
    static short toF16(float v) {
        int bits = Float.floatToRawIntBits(v);
        int sign = (bits >>> 16) & 0x8000;
        int exp = ((bits >>> 23) & 0xff) - 127 + 15;
        int mantissa = bits & 0x7fffff;
        if (((bits >>> 23) & 0xff) == 0xff) {
            return (short) (sign | 0x7c00 | (mantissa != 0 ? 0x200 : 0));
        }
        if (exp >= 0x1f) {
            return (short) (sign | 0x7c00);
        }
        if (exp <= 0) {
            if (exp < -10) {
                return (short) sign;
            }
            mantissa |= 0x800000;
            int shift = 14 - exp;
            int half = mantissa >>> shift;
            int rest = mantissa & ((1 << shift) - 1);
            int midpoint = 1 << (shift - 1);
            if (rest > midpoint || (rest == midpoint && (half & 1) == 1)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (exp << 10) | (mantissa >>> 13);
        int rest = mantissa & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
            half++; // may carry into the exponent, which is the correct rounding up to the next binade or infinity
        }
        return (short) (sign | half);
    }
}
