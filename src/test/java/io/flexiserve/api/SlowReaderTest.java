package io.flexiserve.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A client that stops reading its stream is dropped once its bounded buffer fills; other streams never wait. */
@QuarkusTest
@TestProfile(SlowReaderTest.SmallStreamBuffer.class)
class SlowReaderTest {

    /** A 32 KiB per-stream buffer, so a stalled reader of a fast stream overflows it in a second or two. */
    public static class SmallStreamBuffer implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("flexiserve.limits.stream-buffer-bytes", "32768");
        }
    }

    @TestHTTPResource("/")
    URI base;

    @BeforeEach
    void ready() {
        TestSupport.awaitReady();
    }

    /** About 10 KB per step (8 choices with 20 top logprobs each). */
    static final String BIG_STREAM = "{\"model\":\"flexidepth-demo\",\"messages\":[{\"role\":\"user\",\"content\":"
            + "\"stall\"}],\"max_tokens\":4000,\"n\":8,\"ignore_eos\":true,\"stream\":true,\"logprobs\":true,\"top_logprobs\":20}";

    @Test
    void aStalledReaderIsDroppedAndOthersStream() throws Exception {
        double dropped = TestSupport.metricSum("flexiserve_streams_dropped_total", "reason=\"buffer_full\"");
        try (Socket stalled = openStalledStream(base)) {
            // while it stalls, a normal stream runs to the end
            HttpResponse<String> other = HttpClient.newHttpClient().send(HttpRequest.newBuilder(base.resolve("/v1/completions"))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(120))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"flexidepth-demo\",\"prompt\":\"hi\",\"max_tokens\":40,"
                            + "\"ignore_eos\":true,\"stream\":true}")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, other.statusCode());
            assertTrue(other.body().contains("data: [DONE]"), "the other stream completes");

            TestSupport.await("the stalled stream is dropped for its full buffer", 120,
                    () -> TestSupport.metricSum("flexiserve_streams_dropped_total", "reason=\"buffer_full\"") > dropped);
            assertDroppedBeforeTheEnd(stalled);
        }
    }

    /**
     * Sends {@link #BIG_STREAM} on a socket that never reads (a 4 KiB receive buffer) and returns once the engine runs
     * its sequences.
     */
    static Socket openStalledStream(URI base) throws Exception {
        double aborted = abortedCount();
        Socket stalled = new Socket();
        stalled.setReceiveBufferSize(4096);
        stalled.connect(new InetSocketAddress(base.getHost(), base.getPort()));
        byte[] body = BIG_STREAM.getBytes(StandardCharsets.UTF_8);
        OutputStream out = stalled.getOutputStream();
        out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
        TestSupport.await("the stalled stream is admitted", 120,
                () -> TestSupport.metricSum("flexiserve_requests_running") >= 1 || abortedCount() > aborted);
        return stalled;
    }

    /** The engine let go of the stalled stream's sequences, and the connection ended without [DONE]. */
    static void assertDroppedBeforeTheEnd(Socket stalled) throws Exception {
        TestSupport.await("the stalled stream's sequences are freed", 120,
                () -> TestSupport.metricSum("flexiserve_requests_running") == 0);
        stalled.setSoTimeout(30_000);
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        InputStream in = stalled.getInputStream();
        byte[] buf = new byte[65536];
        try {
            for (int n; (n = in.read(buf)) > 0; ) {
                received.write(buf, 0, n);
            }
        } catch (java.net.SocketException e) {
            // a reset connection ends the read as well
        } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError("the server kept the stalled connection open (" + received.size() + " bytes read)", e);
        }
        String text = received.toString(StandardCharsets.UTF_8);
        assertTrue(text.startsWith("HTTP/1.1 200"), text.substring(0, Math.min(200, text.length())));
        assertFalse(text.contains("data: [DONE]"), "a dropped stream has no [DONE]");
        long chunks = text.lines().filter(l -> l.startsWith("data: {")).count();
        assertTrue(chunks < 8 * 4000, "dropped after " + chunks + " chunks");
        assertTrue(abortedCount() > 0, "counted as aborted");
    }

    private static double abortedCount() {
        return TestSupport.metricSum("flexiserve_requests_finished_total", "finish_reason=\"abort\"");
    }
}
