package io.flexiserve.model.cpu;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class NativeHeapTest {

    @Test
    void onGlibcTheTrimRunsAndReportsTheResidentMemoryBeforeAndAfter() throws Exception {
        Assumptions.assumeTrue(Files.exists(Path.of("/proc/self/maps"))
                && Files.readString(Path.of("/proc/self/maps")).contains("libc.so"), "glibc on Linux");
        String report = NativeHeap.trim();
        assertNotNull(report, "System.trim_native_heap was not available through the DiagnosticCommand MBean");
        assertTrue(report.matches("(?s).*RSS\\+Swap: \\d+[KMG]->\\d+[KMG].*"), report);
    }
}
