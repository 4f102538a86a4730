package io.flexiserve.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Uploads are complete or absent: what an unfinished save leaves is removed, and nothing a finished one wrote. */
class FileStoreTest {

    @TempDir
    Path data;

    @Test
    void leftoversOfUnfinishedSavesAreSweptAndFinishedFilesKept() throws Exception {
        Path upload = Files.writeString(data.resolve("upload"), "{\"messages\": []}\n");
        FileStore store = new FileStore(data);
        StoredFile kept = store.save(upload, "train.jsonl", "fine-tune", 1);
        Path files = data.resolve("files");
        Path oldTmp = Files.writeString(files.resolve("file-000000000000000000000001.jsonl.tmp"), "x".repeat(1000));
        Path orphan = Files.writeString(files.resolve("file-000000000000000000000002.jsonl"), "y".repeat(500));
        Path fresh = Files.writeString(files.resolve("file-000000000000000000000003.json.tmp"), "{}");
        Instant now = Instant.now();
        for (Path old : new Path[] {oldTmp, orphan, store.content(kept.id())}) {
            Files.setLastModifiedTime(old, FileTime.from(now.minus(Duration.ofHours(2))));
        }
        assertEquals(1500, store.sweep(now.minus(Duration.ofHours(1))), "the two old leftovers' bytes");
        assertFalse(Files.exists(oldTmp));
        assertFalse(Files.exists(orphan), "a content without its record was never a file");
        assertTrue(Files.exists(fresh), "a save under way elsewhere is left alone");
        assertEquals(kept, store.get(kept.id()).orElseThrow(), "a finished file stays, however old");
        assertEquals(Files.readString(upload), Files.readString(store.content(kept.id())));
        assertEquals(0, new FileStore(data.resolve("nowhere")).sweep(now));
    }

    /**
     * A save that fails after the content is in place (here its record cannot be renamed into place: a directory
     * holds the record's name) removes what it wrote, leaves no file behind, and leaves the other files alone.
     */
    @Test
    void aSaveThatFailsRemovesWhatItWrote() throws Exception {
        Path upload = Files.writeString(data.resolve("upload"), "{\"messages\": []}\n".repeat(100));
        StoredFile kept = new FileStore(data).save(upload, "kept.jsonl", "fine-tune", 1);
        byte[] next = new byte[12];
        new Random(7).nextBytes(next); // the id the store below draws first
        String id = "file-" + HexFormat.of().formatHex(next);
        Path files = data.resolve("files");
        Files.createDirectories(files.resolve(id + ".json").resolve("occupied"));
        FileStore store = new FileStore(data, new Random(7));
        assertThrows(UncheckedIOException.class, () -> store.save(upload, "train.jsonl", "fine-tune", 2));
        assertFalse(Files.exists(files.resolve(id + ".jsonl")), "the content it had moved into place");
        assertFalse(Files.exists(files.resolve(id + ".jsonl.tmp")));
        assertFalse(Files.exists(files.resolve(id + ".json.tmp")), "the record it had written");
        try (Stream<Path> left = Files.list(files)) {
            assertEquals(Stream.of(kept.id() + ".json", kept.id() + ".jsonl", id + ".json").sorted().toList(),
                    left.map(p -> p.getFileName().toString()).sorted().toList(), "only the obstacle remains");
        }
        Files.delete(files.resolve(id + ".json").resolve("occupied"));
        Files.delete(files.resolve(id + ".json"));
        assertTrue(store.get(id).isEmpty(), "no file by that id");
        assertEquals(List.of(kept), store.list(), "the other file is untouched");
        assertEquals(Files.readString(upload), Files.readString(store.content(kept.id())));
    }
}
