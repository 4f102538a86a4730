package io.flexiserve.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

/** A plain HTTP client for server-sent events, checking the framing as it reads. */
final class Sse {

    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final ObjectMapper JSON = new ObjectMapper();

    private Sse() {
    }

    static HttpRequest post(URI base, String path, String body) {
        return HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    /** The data events of a whole stream; asserts every event is {@code data: ...} followed by a blank line and that it ends with [DONE]. */
    static List<JsonNode> events(URI base, String path, String body) throws IOException, InterruptedException {
        HttpResponse<java.util.stream.Stream<String>> response = HTTP.send(post(base, path, body), HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<String> lines = response.body().toList();
        List<JsonNode> events = new ArrayList<>();
        for (int i = 0; i < lines.size(); i += 2) {
            String line = lines.get(i);
            assertTrue(line.startsWith("data: "), "event line " + i + ": " + line);
            assertEquals("", i + 1 < lines.size() ? lines.get(i + 1) : "", "blank line after event " + i);
            String data = line.substring(6);
            if (data.equals("[DONE]")) {
                assertEquals(lines.size() - 2, i, "[DONE] is the last event");
                return events;
            }
            events.add(JSON.readTree(data));
        }
        throw new AssertionError("stream ended without [DONE]: " + lines);
    }

    /** Concatenated delta content of a chat stream's choice 0. */
    static String content(List<JsonNode> events) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode e : events) {
            for (JsonNode c : e.path("choices")) {
                sb.append(c.path("delta").path("content").asText(""));
            }
        }
        return sb.toString();
    }
}
