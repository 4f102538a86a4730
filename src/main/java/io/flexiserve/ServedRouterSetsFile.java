package io.flexiserve;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flexiserve.model.FileTrees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The router sets served beside the base model, in the order they were served (a set trained on from another
 * served set comes after it), kept in a file under the data dir so that a restart serves the same ones: a set
 * taken down stays down, and one served from a checkpoint or under a name of its own comes back. Written whole to
 * a temporary file and renamed into place, so a crash leaves the previous list or the new one.
 */
final class ServedRouterSetsFile {

    /** One served set: its model id, the base model it runs on, its directory. */
    record Entry(String id, String model, String dir) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;

    ServedRouterSetsFile(Path file) {
        this.file = file;
    }

    /** The sets served when the list was last written; empty when it never was (a first start). */
    synchronized Optional<List<Entry>> read() {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readValue(file.toFile(), new TypeReference<List<Entry>>() { }));
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read the served router sets", e);
        }
    }

    /** Records {@code entry} as served, after the others (in its place when its id is listed already). */
    synchronized void put(Entry entry) {
        List<Entry> entries = new ArrayList<>(read().orElse(List.of()));
        int at = indexOf(entries, entry.id());
        if (at >= 0) {
            entries.set(at, entry);
        } else {
            entries.add(entry);
        }
        write(entries);
    }

    /** Records that {@code id} is no longer served. */
    synchronized void remove(String id) {
        List<Entry> entries = new ArrayList<>(read().orElse(List.of()));
        int at = indexOf(entries, id);
        if (at >= 0) {
            entries.remove(at);
            write(entries);
        }
    }

    private static int indexOf(List<Entry> entries, String id) {
        for (int i = 0; i < entries.size(); i++) {
            if (entries.get(i).id().equals(id)) {
                return i;
            }
        }
        return -1;
    }

    private void write(List<Entry> entries) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), file.getFileName() + ".", ".tmp"); // one per writer
            Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(entries));
            FileTrees.replace(tmp, file);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot record the served router sets", e);
        }
    }
}
