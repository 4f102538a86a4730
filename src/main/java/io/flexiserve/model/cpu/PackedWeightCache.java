package io.flexiserve.model.cpu;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flexiserve.model.checkpoint.SafetensorsFile;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * The Java kernels' packed (or quantized) weights of one checkpoint and dtype, kept on disk so that a restart maps
 * them instead of converting the checkpoint again.
 *
 * <p>An entry is a directory under the cache root named by a digest of everything the packed bytes depend on: the
 * checkpoint's files (path, name, size and modification time of each), the dtype, its layout version and the
 * vector width the panels were laid out for. It holds {@code weights.bin} (each weight's bytes, 64-byte aligned) and
 * {@code index.json} (per tensor name: offset, bytes, format, f16 exponent bias, shape, CRC-32C). A load that finds no entry
 * writes one as it packs, into a temporary directory renamed into place once the model has loaded, so an entry is
 * whole or absent, and serves each weight it wrote from the file's pages, as a restart does; a load that finds one
 * maps each weight (no copy, and no checkpoint read for it). A cache that cannot be written or read is logged and
 * passed by: the load goes on from the checkpoint, and a broken entry is written again.
 *
 * <p>Each entry also records what it was packed from ({@code source.json}). An entry of the same checkpoint directory,
 * dtype and vector width under another name is one this build no longer reads (an older layout version, or the
 * checkpoint's files changed since): {@link #open} removes it, before it checks for room, so that an upgrade or a
 * retrained checkpoint leaves one entry on disk, not two, unless a running process serves it (each load holds a
 * shared lock on the weights it serves). Entries of other checkpoints, dtypes or vector widths (a data directory
 * shared by other machines), and entries written before this record existed, are left alone.
 */
public final class PackedWeightCache implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(PackedWeightCache.class);

    /**
     * The version of what an entry's bytes mean, part of its key. Every entry holds {@link PanelLayout} and
     * {@link FloatPanels} panels: bump this, and {@link #QUANTIZED_VERSION} with it, when they change or a weight
     * changes format.
     */
    static final int PANELS_VERSION = 3;
    /**
     * The same for {@code q8} and {@code q4} entries, which also hold {@link QuantLayout} weights: bump it alone when
     * that changes, so that the other dtypes' entries stay valid (4: codes as words; 5: q8 in blocks of 64).
     */
    static final int QUANTIZED_VERSION = 5;
    private static final int ALIGN = 64;
    /** Bytes {@link #readThrough} asks for at a time: several 2 MB pages. */
    private static final int READ_CHUNK = 8 << 20;
    private static final String WEIGHTS = "weights.bin";
    private static final String INDEX = "index.json";
    /** What an entry was packed from: checkpoint directory, dtype, layout version, vector width. */
    private static final String SOURCE = "source.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path entry;
    private final JsonNode index;      // reading: the entry's index; null when writing
    private final FileChannel reading; // reading: weights.bin, holding its shared lock (see #removeSuperseded)
    private FileChannel held;          // writing, once committed: the entry's weights.bin, holding its shared lock
    private final Path staging;        // writing: the temporary directory (renamed into place, or deleted); else null
    private FileChannel writing;
    private final ObjectNode written;
    private final List<MappedByteBuffer> mapped = new ArrayList<>();
    private ByteBuffer chunk; // reading: readThrough's buffer, freed once the model has loaded

    private PackedWeightCache(Path entry, JsonNode index, FileChannel reading, Path staging, FileChannel writing) {
        this.entry = entry;
        this.index = index;
        this.reading = reading;
        this.staging = staging;
        this.writing = writing;
        this.written = JSON.createObjectNode();
    }

    /** Space an entry being written leaves free on its file system, so that writing it never fills the disk. */
    static final long SPARE_BYTES = 1L << 30;

    /** The entry for this checkpoint and dtype under {@code root}: to read when it exists, else to write. */
    public static PackedWeightCache open(Path root, Path checkpoint, String dtype) {
        return open(root, checkpoint, dtype, 0);
    }

    /**
     * As {@link #open(Path, Path, String)}, an entry to be written of about {@code bytes}: none (null, logged) when the
     * file system under {@code root} has not that much space free and {@link #SPARE_BYTES} more.
     */
    public static PackedWeightCache open(Path root, Path checkpoint, String dtype, long bytes) {
        Path entry;
        try {
            ObjectNode source = source(checkpoint, dtype);
            entry = root.resolve(key(checkpoint, source));
            removeSuperseded(root, entry, source);
            if (Files.exists(entry.resolve(INDEX))) {
                PackedWeightCache existing = read(entry);
                if (existing != null) {
                    recordSource(entry, source);
                    return existing;
                }
            }
            delete(entry); // broken, or left without its index: written again below
            Files.createDirectories(root);
            deleteAbandonedStaging(root);
            long usable = Files.getFileStore(root).getUsableSpace();
            if (usable < bytes + SPARE_BYTES) {
                LOG.warnf("packed-weight cache not written: its entry needs about %.1f GB and %s has %.1f GB free (%.1f GB"
                        + " are left spare); every start converts the checkpoint", bytes / 1e9, root, usable / 1e9,
                        SPARE_BYTES / 1e9);
                return null;
            }
            Path staging = Files.createTempDirectory(root, entry.getFileName() + ".writing-");
            Files.writeString(staging.resolve(SOURCE), source.toPrettyString());
            FileChannel weights = FileChannel.open(staging.resolve(WEIGHTS), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.READ, StandardOpenOption.WRITE); // read: to map back what is written
            return new PackedWeightCache(entry, null, null, staging, weights);
        } catch (IOException | RuntimeException e) {
            LOG.warnf("packed-weight cache under %s not used (%s); loading from the checkpoint", root, e.toString());
            return null;
        }
    }

    /** An existing entry, or null (logged) when its index does not parse or its weights are shorter than it says. */
    private static PackedWeightCache read(Path entry) {
        FileChannel weights = null;
        try {
            JsonNode index = JSON.readTree(entry.resolve(INDEX).toFile());
            weights = FileChannel.open(entry.resolve(WEIGHTS), StandardOpenOption.READ);
            if (!holdShared(weights)) {
                throw new IOException("another process is removing it");
            }
            long end = 0;
            for (JsonNode e : index) {
                end = Math.max(end, e.get("offset").asLong() + e.get("bytes").asLong());
            }
            if (!index.isObject() || index.isEmpty() || weights.size() < end) {
                throw new IOException("index and weights disagree (" + weights.size() + " bytes, " + end + " indexed)");
            }
            LOG.infof("mapping the packed weights from %s", entry);
            return new PackedWeightCache(entry, index, weights, null, null);
        } catch (IOException | RuntimeException e) {
            LOG.warnf("packed-weight cache entry %s is broken (%s); writing it again", entry, e.toString());
            try {
                if (weights != null) {
                    weights.close();
                }
            } catch (IOException ignored) {
                // closing what could not be used
            }
            return null;
        }
    }

    /**
     * The packed weight {@code name} from the entry, mapped, or null when this is not a readable entry or the entry
     * does not hold it in this shape.
     */
    public VectorGemm find(String name, NDManager manager, long out, long in) {
        JsonNode e = index == null ? null : index.get(name);
        if (e == null) {
            return null;
        }
        try {
            if (e.path("out").asLong(-1) != out || e.path("in").asLong(-1) != in) {
                return null;
            }
            readThrough(e);
            return view(reading, e, manager, (int) out, (int) in);
        } catch (IOException | RuntimeException x) {
            LOG.warnf("packed weight %s not mapped from %s (%s); loading it from the checkpoint", name, entry, x.toString());
            return null;
        }
    }

    /** Whether this entry is being written (no entry existed). */
    public boolean writing() {
        return writing != null;
    }

    /**
     * Appends a weight packed by this load to the entry being written and returns it mapped from there, for the load
     * to serve in place of the packed copy (which it then frees): a first start then holds each weight once, in the
     * file's pages, as a restart does; they stream faster here than anonymous memory (docs/djl-traps.md, trap 18).
     * Written through the channel before it is mapped, so a full disk is an exception here, not a fault in a later
     * read. Returns null, the entry abandoned, when the weight cannot be written or mapped: the copy serves then.
     */
    public VectorGemm record(String name, VectorGemm packed, NDManager manager) {
        if (writing == null) {
            return null;
        }
        try {
            long offset = (writing.size() + ALIGN - 1) / ALIGN * ALIGN;
            ByteBuffer bytes = packed.storage().toByteBuffer(true);
            long length = bytes.remaining();
            CRC32C crc = new CRC32C();
            crc.update(bytes.duplicate());
            for (long at = offset; bytes.hasRemaining(); ) {
                at += writing.write(bytes, at);
            }
            ObjectNode e = written.putObject(name);
            e.put("offset", offset).put("bytes", length).put("format", packed.format().name())
                    .put("bias", packed.bias()).put("out", packed.out()).put("in", packed.in())
                    .put("crc32c", crc.getValue());
            return view(writing, e, manager, packed.out(), packed.in());
        } catch (IOException | RuntimeException e) {
            abandon(e);
            return null;
        }
    }

    /**
     * Reads an entry's weight through the channel, {@link #READ_CHUNK} at a time, before it is mapped: the kernel then
     * caches the file in 2 MB pages, whatever the disk's read-ahead, and the mapping uses them. Faulted in through the
     * mapping alone, the pages come in the read-ahead's size: with Linux's common 128 KB none of an entry lay in 2 MB
     * pages, which stream 10-15% faster here (docs/djl-traps.md, trap 19). Pages the cache already holds are only
     * copied. The bytes read are checked against the weight's CRC-32C (recorded when it was written; entries of
     * builds before that carry none): a corrupt weight is loaded from the checkpoint instead, never served.
     */
    private void readThrough(JsonNode e) throws IOException {
        if (chunk == null) {
            chunk = ByteBuffer.allocateDirect(READ_CHUNK);
        }
        CRC32C crc = new CRC32C();
        long offset = e.get("offset").asLong();
        long end = offset + e.get("bytes").asLong();
        for (long at = offset; at < end; ) {
            chunk.clear().limit((int) Math.min(READ_CHUNK, end - at));
            int read = reading.read(chunk, at);
            if (read < 0) {
                throw new EOFException(entry.resolve(WEIGHTS) + " ends at " + at + ", before " + end);
            }
            crc.update(chunk.flip());
            at += read;
        }
        if (e.has("crc32c") && e.get("crc32c").asLong() != crc.getValue()) {
            throw new IOException("its bytes do not match their checksum: the entry is corrupt; delete " + entry
                    + " to have it written again");
        }
    }

    /**
     * The weight an index entry describes, mapped read-only from {@code weights} and read in while loading: a page
     * first touched by a decode step would be a disk read inside it. The mapping outlives the channel and the file's
     * name (an abandoned entry's file is deleted under the weights it served): it is unmapped by {@link #close}.
     */
    private VectorGemm view(FileChannel weights, JsonNode e, NDManager manager, int out, int in) throws IOException {
        long length = e.get("bytes").asLong();
        MappedByteBuffer bytes = weights.map(FileChannel.MapMode.READ_ONLY, e.get("offset").asLong(), length);
        bytes.load();
        mapped.add(bytes);
        NDArray storage = manager.create(bytes, new Shape(length), DataType.INT8); // a view of the mapping
        return VectorGemm.packed(storage, WeightFormat.valueOf(e.get("format").asText()), e.get("bias").asInt(), out,
                in);
    }

    /**
     * Makes the entry written by this load visible: its index last, then the directory renamed into place; a load that
     * read an entry frees {@link #readThrough}'s buffer. Called once the model has loaded.
     */
    public void commit() {
        freeChunk();
        if (writing == null) {
            return;
        }
        try {
            writing.force(true);
            writing.close();
            writing = null;
            Files.writeString(staging.resolve(INDEX), JSON.writeValueAsString(written));
            try {
                Files.move(staging, entry, StandardCopyOption.ATOMIC_MOVE);
                LOG.infof("packed weights written to %s for the next start", entry);
                hold(); // the weights this load serves are this file's pages
            } catch (java.nio.file.FileSystemException raced) { // Linux reports ENOTEMPTY as a plain one
                if (!Files.exists(entry.resolve(INDEX))) {
                    throw raced;
                }
                delete(staging); // another process wrote the same entry first
            }
        } catch (IOException | RuntimeException e) {
            abandon(e);
        }
    }

    private void abandon(Exception e) {
        LOG.warnf("packed-weight cache %s not written (%s); the next start converts the checkpoint again", entry,
                e.toString());
        try {
            if (writing != null) {
                writing.close();
            }
        } catch (IOException ignored) {
            // closing a failed channel
        }
        writing = null;
        delete(staging);
    }

    @Override
    public void close() {
        if (writing != null) { // the load failed before commit
            abandon(new IllegalStateException("the load did not finish"));
        }
        try {
            if (reading != null) {
                reading.close(); // and with it its lock
            }
            if (held != null) {
                held.close();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            mapped.forEach(SafetensorsFile::unmap);
            mapped.clear();
            freeChunk();
        }
    }

    private void freeChunk() {
        if (chunk != null) {
            SafetensorsFile.unmap(chunk); // frees a direct buffer as it unmaps a mapped one
            chunk = null;
        }
    }

    /**
     * The entry's name: the dtype and a digest of what {@code source} records (checkpoint directory, dtype, layout
     * version, vector width) and of the checkpoint's files (name, size and modification time of each).
     */
    private static String key(Path checkpoint, ObjectNode source) throws IOException {
        String dtype = source.get("dtype").asText();
        StringBuilder identity = new StringBuilder(source.get("checkpoint").asText() + "\n" + dtype + "\n"
                + source.get("version").asInt() + "\n" + source.get("lanes").asInt() + "\n");
        try (Stream<Path> files = Files.list(checkpoint)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                identity.append(f.getFileName()).append(' ').append(Files.size(f)).append(' ')
                        .append(Files.getLastModifiedTime(f).toMillis()).append('\n');
            }
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(identity.toString().getBytes(StandardCharsets.UTF_8));
            return dtype + "-" + HexFormat.of().formatHex(digest, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What an entry is packed from, as {@link #SOURCE} records it; two entries alike in this differ in version or files. */
    private static ObjectNode source(Path checkpoint, String dtype) {
        ObjectNode source = JSON.createObjectNode();
        source.put("checkpoint", checkpoint.toAbsolutePath().normalize().toString()).put("dtype", dtype)
                .put("version", version(dtype)).put("lanes", PanelLayout.LANES);
        return source;
    }

    /** Gives an entry written before {@link #SOURCE} existed its record, so that a later upgrade can supersede it. */
    private static void recordSource(Path entry, ObjectNode source) {
        if (Files.exists(entry.resolve(SOURCE))) {
            return;
        }
        Path written = null;
        try {
            written = Files.createTempFile(entry, SOURCE, ".tmp");
            Files.writeString(written, source.toPrettyString());
            Files.move(written, entry.resolve(SOURCE), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            LOG.debugf("could not record the source of %s: %s", entry, e.toString());
            try {
                if (written != null) {
                    Files.deleteIfExists(written);
                }
            } catch (IOException ignored) {
                // the entry's directory went with it
            }
        }
    }

    private static int version(String dtype) {
        boolean quantized = Arrays.stream(WeightFormat.values())
                .anyMatch(f -> f.quantized() && f.label().equals(dtype));
        return quantized ? QUANTIZED_VERSION : PANELS_VERSION;
    }

    /**
     * Removes the entries under {@code root} other than {@code current} packed from the same checkpoint directory, dtype
     * and vector width: the key tells them apart from {@code current} only by a layout version or by checkpoint files
     * that have changed since, so this build would never read them again. An entry a running process serves is kept:
     * every process holds a shared lock on the weights of the entry it serves ({@link #holdShared}), and an entry is
     * removed only under an exclusive one. Staging directories are {@link #deleteAbandonedStaging}'s. Housekeeping
     * only: a root that cannot be listed is logged, and the cache goes on without it.
     */
    private static void removeSuperseded(Path root, Path current, ObjectNode source) {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path dir : dirs.filter(d -> !d.equals(current) && !d.getFileName().toString().contains(".writing-")
                    && Files.isRegularFile(d.resolve(SOURCE))).toList()) {
                JsonNode other;
                try {
                    other = JSON.readTree(dir.resolve(SOURCE).toFile());
                } catch (IOException unreadable) {
                    continue; // not ours to judge
                }
                if (other.path("checkpoint").asText().equals(source.get("checkpoint").asText())
                        && other.path("dtype").asText().equals(source.get("dtype").asText())
                        && other.path("lanes").asInt() == source.get("lanes").asInt()) {
                    int version = other.path("version").asInt();
                    String why = version == source.get("version").asInt() ? "the checkpoint's files have changed since"
                            : "its layout is version " + version + ", this build reads " + source.get("version").asInt();
                    if (deleteUnlessServed(dir)) {
                        LOG.infof("removed packed-weight entry %s, superseded by %s: %s", dir, current.getFileName(), why);
                    } else {
                        LOG.infof("packed-weight entry %s is superseded (%s) but a running process serves it; a later"
                                + " start removes it", dir, why);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warnf("superseded packed-weight entries under %s not looked for: %s", root, e.toString());
        }
    }

    /** Holds the committed entry's shared lock, as a load that reads an entry does; a failure only costs the lock. */
    private void hold() {
        try {
            held = FileChannel.open(entry.resolve(WEIGHTS), StandardOpenOption.READ);
            holdShared(held);
        } catch (IOException | RuntimeException e) {
            LOG.debugf("no lock held on %s: %s", entry, e.toString());
        }
    }

    /**
     * Takes a shared lock on an entry's weights for as long as {@code weights} stays open, so that no other process
     * removes the entry under the pages this one serves; false when another process holds it exclusively (it is
     * removing the entry). A lock this JVM already holds (two models of one entry) counts as held.
     */
    private static boolean holdShared(FileChannel weights) throws IOException {
        try {
            return weights.tryLock(0, Long.MAX_VALUE, true) != null;
        } catch (OverlappingFileLockException heldHere) {
            return true;
        }
    }

    /** Deletes the entry {@code dir} under an exclusive lock on its weights: not when a process holds them (serves it). */
    private static boolean deleteUnlessServed(Path dir) {
        try (FileChannel weights = FileChannel.open(dir.resolve(WEIGHTS), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            FileLock lock = weights.tryLock();
            if (lock == null) {
                return false;
            }
            delete(dir); // unlinked while locked; the lock goes with the channel
            return true;
        } catch (OverlappingFileLockException servedHere) {
            return false;
        } catch (NoSuchFileException noWeights) { // nothing can map it
            delete(dir);
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.warnf("could not lock %s to remove it: %s", dir, e.toString());
            return false;
        }
    }

    /** How long a staging directory's may go unwritten before it counts as left by a killed process. */
    private static final long ABANDONED_MILLIS = 10 * 60 * 1000;

    /** Removes staging directories whose writer died (their weights untouched for {@link #ABANDONED_MILLIS}). */
    private static void deleteAbandonedStaging(Path root) {
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path dir : dirs.filter(d -> d.getFileName().toString().contains(".writing-")).toList()) {
                Path weights = dir.resolve(WEIGHTS);
                long touched = Files.exists(weights) ? Files.getLastModifiedTime(weights).toMillis()
                        : Files.getLastModifiedTime(dir).toMillis();
                if (System.currentTimeMillis() - touched > ABANDONED_MILLIS) {
                    LOG.infof("removing %s, left by a load that did not finish", dir);
                    delete(dir);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warnf("abandoned staging directories under %s not looked for: %s", root, e.toString());
        }
    }

    private static void delete(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) { // another process removing it too
            LOG.warnf("could not remove %s: %s", dir, e.toString());
        }
    }
}
