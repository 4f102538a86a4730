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

    /** A checkpoint file whose writing fails half-way is not there: nothing takes a cut-short file for a checkpoint. */
    @Test
    void aSafetensorsFileCutShortIsNeverInPlace() throws Exception {
        Path file = dir.resolve("model.safetensors");
        var entries = java.util.List.of(io.flexiserve.model.checkpoint.SafetensorsWriter.Entry.of("a", new long[] {4},
                new float[] {1, 2, 3, 4}), new io.flexiserve.model.checkpoint.SafetensorsWriter.Entry("b", new long[] {1 << 20},
                () -> () -> {
                    throw new IllegalStateException("interrupted");
                }));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> io.flexiserve.model.checkpoint
                .SafetensorsWriter.write(file, io.flexiserve.model.checkpoint.TensorDtype.F32, entries));
        assertFalse(Files.exists(file));
        assertFalse(Files.exists(dir.resolve("model.safetensors.partial")), "nor what was written of it");
        io.flexiserve.model.checkpoint.SafetensorsWriter.write(file, io.flexiserve.model.checkpoint.TensorDtype.F32,
                entries.subList(0, 1));
        assertEquals(16, Files.size(file) - 8 - java.nio.ByteBuffer.wrap(Files.readAllBytes(file), 0, 8)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(), "written whole once it can be: four floats after the header");
        assertFalse(Files.exists(dir.resolve("model.safetensors.partial")));
    }
}
