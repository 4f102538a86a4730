package io.flexiserve.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.net.Socket;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A client that stops reading a slow stream is dropped after the stall time, long before its (here 64 MiB) buffer
 * could fill: the drop is driven by time, not by how fast the machine generates bytes.
 */
@QuarkusTest
@TestProfile(StalledReaderTest.ShortStall.class)
class StalledReaderTest {

    /** A 2 s stall time and a buffer that a slowed engine would take minutes to fill. */
    public static class ShortStall implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("flexiserve.limits.stream-stall-seconds", "2",
                    "flexiserve.limits.stream-buffer-bytes", String.valueOf(64 << 20));
        }
    }

    @TestHTTPResource("/")
    URI base;

    @Inject
    ModelRegistry models;

    @BeforeEach
    void ready() {
        TestSupport.awaitReady();
    }

    @AfterEach
    void fullSpeed() {
        models.find("flexidepth-demo").orElseThrow().engine().slowSteps(0);
    }

    @Test
    void aStalledReaderOfASlowStreamIsDroppedAfterTheStallTime() throws Exception {
        double stalledBefore = TestSupport.metricSum("flexiserve_streams_dropped_total", "reason=\"stalled\"");
        double fullBefore = TestSupport.metricSum("flexiserve_streams_dropped_total", "reason=\"buffer_full\"");
        models.find("flexidepth-demo").orElseThrow().engine().slowSteps(50); // at most 20 steps (~200 KB) a second
        try (Socket stalled = SlowReaderTest.openStalledStream(base)) {
            TestSupport.await("the stalled stream is dropped for its stall", 180,
                    () -> TestSupport.metricSum("flexiserve_streams_dropped_total", "reason=\"stalled\"") > stalledBefore);
            SlowReaderTest.assertDroppedBeforeTheEnd(stalled);
        }
        assertEquals(fullBefore, TestSupport.metricSum("flexiserve_streams_dropped_total", "reason=\"buffer_full\""),
                "not dropped for its buffer");
    }
}
