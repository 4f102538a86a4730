package io.flexiserve.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files and directories put in place whole: the written copy takes the target's name, replacing what was there. */
class FileTreesTest {

    @TempDir
    Path dir;

    @Test
    void aWrittenFileReplacesItsTarget() throws Exception {
        Path target = Files.writeString(dir.resolve("job.json"), "old");
        Path tmp = Files.writeString(dir.resolve("job.json.tmp"), "new");
        FileTrees.replace(tmp, target);
        assertEquals("new", Files.readString(target));
        assertFalse(Files.exists(tmp));
    }

    /** A trainer interrupted at shutdown still records its job; the interrupt is kept for it to see. */
    @Test
    void anInterruptedThreadStillPutsItsFileInPlace() throws Exception {
        Path target = dir.resolve("job.json");
        Path tmp = Files.writeString(dir.resolve("job.json.tmp"), "interrupted");
        Thread.currentThread().interrupt();
        try {
            FileTrees.replace(tmp, target);
            assertEquals(true, Thread.currentThread().isInterrupted());
        } finally {
            Thread.interrupted();
        }
        assertEquals("interrupted", Files.readString(target));
    }

    @Test
    void aWrittenDirectoryTakesAFreeName() throws Exception {
        Path tmp = Files.createDirectories(dir.resolve(".step-000002.tmp"));
        Files.writeString(tmp.resolve("trainer_state.json"), "{}");
        Path target = dir.resolve("step-000002");
        FileTrees.replace(tmp, target);
        assertEquals("{}", Files.readString(target.resolve("trainer_state.json")));
        assertFalse(Files.exists(tmp));
    }
}
