package io.flexiserve.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
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
}
