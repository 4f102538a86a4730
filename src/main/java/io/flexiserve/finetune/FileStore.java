package io.flexiserve.finetune;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.flexiserve.model.FileTrees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Uploaded files under {@code <data-dir>/files/}: {@code <id>.jsonl} with the content and {@code <id>.json}
 * with the record, each written beside and renamed into place (the record last, so a listed file is complete).
 */
public final class FileStore {

    private static final Pattern ID = Pattern.compile("file-[0-9a-f]{24}");
    private final ObjectMapper json = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
    private final Random random;
    private final Path dir;

    public FileStore(Path dataDir) {
        this(dataDir, new SecureRandom());
    }

    /** A store whose file ids come from {@code random} (tests predict them). */
    FileStore(Path dataDir, Random random) {
        this.dir = dataDir.resolve("files");
        this.random = random;
    }

    /** Moves {@code upload} (a temporary file) into the store. */
    public StoredFile save(Path upload, String filename, String purpose, long now) {
        byte[] idBytes = new byte[12];
        random.nextBytes(idBytes);
        String id = "file-" + HexFormat.of().formatHex(idBytes);
        Path content = dir.resolve(id + ".jsonl");
        Path[] written = {dir.resolve(id + ".jsonl.tmp"), content, dir.resolve(id + ".json.tmp")};
        try {
            Files.createDirectories(dir);
            Files.copy(upload, written[0], StandardCopyOption.REPLACE_EXISTING);
            FileTrees.replace(written[0], content);
            StoredFile file = new StoredFile(id, Files.size(content), now, filename, purpose);
            json.writeValue(written[2].toFile(), file);
            FileTrees.replace(written[2], dir.resolve(id + ".json"));
            return file;
        } catch (IOException e) {
            for (Path p : written) { // no record: the file never was, and its bytes (a disk filled by them) go
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // swept at the next start
                }
            }
            throw new UncheckedIOException("cannot store the upload " + filename, e);
        }
    }

    /**
     * Removes what saves that never finished left (a crash, a full disk): temporary files and contents without a
     * record, last changed before {@code before} (a save under way on another replica sharing the directory is
     * newer). Returns the bytes freed.
     */
    public long sweep(Instant before) {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        long freed = 0;
        try (Stream<Path> paths = Files.list(dir)) {
            for (Path p : paths.toList()) {
                String name = p.getFileName().toString();
                boolean orphan = name.endsWith(".jsonl")
                        && !Files.exists(dir.resolve(name.substring(0, name.length() - ".jsonl".length()) + ".json"));
                if ((name.endsWith(".tmp") || orphan) && Files.getLastModifiedTime(p).toInstant().isBefore(before)) {
                    long size = Files.size(p);
                    Files.deleteIfExists(p);
                    freed += size;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot sweep " + dir, e);
        }
        return freed;
    }

    public Optional<StoredFile> get(String id) {
        if (id == null || !ID.matcher(id).matches() || !Files.exists(dir.resolve(id + ".json"))) {
            return Optional.empty();
        }
        try {
            return Optional.of(json.readValue(dir.resolve(id + ".json").toFile(), StoredFile.class));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the record of " + id, e);
        }
    }

    /** The stored content of a file returned by {@link #get}. */
    public Path content(String id) {
        return dir.resolve(id + ".jsonl");
    }

    /** Every file, newest first. */
    public List<StoredFile> list() {
        List<StoredFile> files = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return files;
        }
        try (Stream<Path> paths = Files.list(dir)) {
            paths.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".json"))
                    .map(n -> n.substring(0, n.length() - 5)).forEach(id -> get(id).ifPresent(files::add));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        files.sort(java.util.Comparator.comparingLong(StoredFile::createdAt).reversed().thenComparing(StoredFile::id));
        return files;
    }

    /** Deletes the record first (so the file disappears from listings at once), then the content. */
    public boolean delete(String id) {
        if (get(id).isEmpty()) {
            return false;
        }
        try {
            Files.delete(dir.resolve(id + ".json"));
            Files.deleteIfExists(content(id));
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + id, e);
        }
    }
}
