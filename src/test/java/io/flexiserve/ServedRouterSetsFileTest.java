package io.flexiserve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a restart serves again: the sets served, in their order, less those taken down. */
class ServedRouterSetsFileTest {

    @TempDir
    Path dir;

    @Test
    void aRestartReadsTheSetsStillServedInTheOrderTheyWereServed() throws Exception {
        Path file = dir.resolve("data/served-router-sets.json");
        ServedRouterSetsFile served = new ServedRouterSetsFile(file);
        assertEquals(Optional.empty(), served.read(), "never written: a first start");
        ServedRouterSetsFile.Entry first = new ServedRouterSetsFile.Entry("ft:base:a:1", "base", "/jobs/1/output");
        ServedRouterSetsFile.Entry second = new ServedRouterSetsFile.Entry("ft:base:b:2", "base", "/jobs/2/output");
        ServedRouterSetsFile.Entry checkpoint = new ServedRouterSetsFile.Entry("ckpt6", "base", "/jobs/1/checkpoints/6");
        served.put(first);
        served.put(second);
        served.put(checkpoint);
        ServedRouterSetsFile.Entry moved = new ServedRouterSetsFile.Entry("ft:base:a:1", "base", "/elsewhere");
        served.put(moved);
        served.remove("ckpt6");
        served.remove("never-served");
        assertEquals(Optional.of(List.of(moved, second)), new ServedRouterSetsFile(file).read(),
                "in serving order, the one taken down gone");
        served.remove("ft:base:a:1");
        served.remove("ft:base:b:2");
        assertEquals(Optional.of(List.of()), new ServedRouterSetsFile(file).read(), "written, and empty: not a first start");
        try (var left = Files.list(dir.resolve("data"))) {
            assertEquals(List.of(file), left.toList(), "no temporary file left");
        }
    }

    @Test
    void anUnreadableListIsAnErrorNotAFirstStart() throws Exception {
        Path file = dir.resolve("served-router-sets.json");
        Files.writeString(file, "[{\"id\": \"cut sh");
        assertThrows(UncheckedIOException.class, () -> new ServedRouterSetsFile(file).read());
    }
}
