package io.flexiserve.bench;

import io.flexiserve.model.FileTrees;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Serving throughput and latency through the HTTP API: runs the packaged service on the checkpoint as a
 * separate process and streams completions from concurrent clients (token-id prompts, so any vocabulary
 * works; {@code return_layers} makes every token its own chunk, so inter-token latency is per token).
 */
final class HttpBench implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();
    private final Process service;
    private final URI base;
    private final String model;
    private final Path data;

    /** The JVM properties that turn FlexiServe's Java or native kernels, its Java path or its f16 cache off, passed on. */
    private static final List<String> KERNEL_SWITCHES = List.of("io.flexiserve.vector-gemm", "io.flexiserve.java-decode",
            "io.flexiserve.native-kernels", "io.flexiserve.f16-kv");

    HttpBench(Path runnerJar, Path checkpoint, String dtype, int port) throws IOException, InterruptedException {
        this(runnerJar, checkpoint, dtype, port, null);
    }

    /**
     * A service of {@code checkpoint} as {@code dtype}; with {@code packedCache}, its packed weights are mapped from
     * (or written to) that directory's entry rather than converted into a temporary one, as a restarted service's are.
     */
    HttpBench(Path runnerJar, Path checkpoint, String dtype, int port, Path packedCache)
            throws IOException, InterruptedException {
        this.data = Files.createTempDirectory("flexiserve-bench");
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java")); // this JVM's java
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) { // as this JVM: the Java kernels
            command.addAll(List.of("--add-modules", "jdk.incubator.vector"));
        }
        for (String property : KERNEL_SWITCHES) { // and turned off where this JVM's are
            String value = System.getProperty(property);
            if (value != null) {
                command.add("-D" + property + "=" + value);
            }
        }
        if (packedCache != null) {
            command.add("-Dflexiserve.model.packed-cache-dir=" + packedCache.toAbsolutePath());
        }
        command.addAll(List.of("-Dquarkus.http.port=" + port, "-Dflexiserve.model.path=" + checkpoint,
                "-Dflexiserve.model.dtype=" + dtype, "-Dflexiserve.data-dir=" + data, "-jar", runnerJar.toString()));
        try {
            this.service = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(data.resolve("service.log").toFile()).start();
        } catch (IOException e) {
            FileTrees.delete(data);
            throw e;
        }
        this.base = URI.create("http://127.0.0.1:" + port + "/");
        this.model = checkpoint.getFileName().toString();
        long deadline = System.nanoTime() + 600_000_000_000L;
        while (!service.isAlive() || !ready()) { // alive first: another process may answer on a port this one failed to take
            if (!service.isAlive() || System.nanoTime() > deadline || failed()) {
                IllegalStateException notReady = new IllegalStateException("the service did not become ready; see "
                        + data.resolve("service.log"));
                try {
                    stop();
                    removeAllBut(data.resolve("service.log")); // the log stays, to be read; a packed-weight cache goes
                } catch (IOException e) {
                    notReady.addSuppressed(e);
                }
                throw notReady;
            }
            Thread.sleep(500);
        }
    }

    /** The service reports a load failure in its readiness check; no point waiting for it. */
    private boolean failed() throws InterruptedException {
        try {
            return http.send(HttpRequest.newBuilder(base.resolve("q/health/ready")).build(),
                    HttpResponse.BodyHandlers.ofString()).body().contains("\"failed\"");
        } catch (IOException e) {
            return false;
        }
    }

    private boolean ready() {
        try {
            return http.send(HttpRequest.newBuilder(base.resolve("q/health/ready")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The service's base URI, its served model id and its process (for prefill runs and memory readings). */
    URI base() {
        return base;
    }

    String model() {
        return model;
    }

    ProcessHandle process() {
        return service.toHandle();
    }

    HttpClient http() {
        return http;
    }

    /** One concurrency level. */
    record Level(int concurrency, float threshold, long generated, double seconds, double tokensPerSecond,
                 double ttftP50Ms, double ttftP99Ms, double itlP50Ms, double itlP99Ms) {
    }

    /**
     * Before the first level: the serving path's code is still interpreted or cold (a fresh JVM), which would
     * slow the first level measured, the single stream, and flatter every ratio over it. One full-length stream
     * and then {@code concurrency} short ones at once give the JIT the paths every level takes.
     */
    void warmUp(int concurrency, int tokens) throws Exception {
        stream(0, 0f, tokens);
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        try {
            List<Future<Stream>> futures = new ArrayList<>();
            for (int i = 0; i < concurrency; i++) {
                int client = i;
                futures.add(pool.submit(() -> stream(client, 0f, Math.min(tokens, 8))));
            }
            for (Future<Stream> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    Level run(int concurrency, float threshold, int tokens) throws Exception {
        stream(0, threshold, Math.min(tokens, 8)); // this threshold's path
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        try {
            long start = System.nanoTime();
            List<Future<Stream>> futures = new ArrayList<>();
            for (int i = 0; i < concurrency; i++) {
                int client = i;
                futures.add(pool.submit(() -> stream(client, threshold, tokens)));
            }
            List<Double> ttft = new ArrayList<>();
            List<Double> itl = new ArrayList<>();
            long generated = 0;
            for (Future<Stream> f : futures) {
                Stream s = f.get();
                ttft.add(s.ttftMs);
                itl.addAll(s.gapsMs);
                generated += s.generated;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            return new Level(concurrency, threshold, generated, seconds, generated / seconds, percentile(ttft, 0.5),
                    percentile(ttft, 0.99), percentile(itl, 0.5), percentile(itl, 0.99));
        } finally {
            pool.shutdownNow();
        }
    }

    private record Stream(long generated, double ttftMs, List<Double> gapsMs) {
    }

    private Stream stream(int client, float threshold, int tokens) throws IOException, InterruptedException {
        String body = "{\"model\":\"" + model + "\",\"prompt\":[" + (1 + client) + ",2,3,4,5,6,7,8],\"max_tokens\":" + tokens
                + ",\"temperature\":0,\"ignore_eos\":true,\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"flexidepth\":{\"threshold\":" + threshold + ",\"return_layers\":true}}";
        HttpRequest request = HttpRequest.newBuilder(base.resolve("v1/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        long start = System.nanoTime();
        long last = 0;
        double ttft = Double.NaN;
        List<Double> gaps = new ArrayList<>();
        long generated = 0;
        HttpResponse<java.util.stream.Stream<String>> response = http.send(request, HttpResponse.BodyHandlers.ofLines());
        for (String line : (Iterable<String>) response.body()::iterator) {
            if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
                continue;
            }
            JsonNode chunk = JSON.readTree(line.substring(6));
            long now = System.nanoTime();
            if (chunk.path("usage").has("completion_tokens")) {
                generated = chunk.path("usage").path("completion_tokens").asLong();
            } else if (chunk.path("choices").size() > 0 && chunk.path("choices").get(0).path("finish_reason").isNull()) {
                if (Double.isNaN(ttft)) {
                    ttft = (now - start) / 1e6;
                } else {
                    gaps.add((now - last) / 1e6);
                }
                last = now;
            }
        }
        return new Stream(generated, ttft, gaps);
    }

    private static double percentile(List<Double> values, double p) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        return sorted[Math.min(sorted.length - 1, (int) Math.floor(p * sorted.length))];
    }

    private void removeAllBut(Path log) throws IOException {
        try (var children = Files.list(data)) {
            for (Path child : children.filter(c -> !c.equals(log)).toList()) {
                FileTrees.delete(child);
            }
        }
    }

    @Override
    public void close() throws InterruptedException, IOException {
        stop();
        FileTrees.delete(data); // its packed-weight cache is as large as the model
    }

    /** Ends the service: asked to stop, then killed if it has not within a minute. */
    private void stop() throws InterruptedException {
        service.destroy();
        if (!service.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
            service.destroyForcibly();
            service.waitFor();
        }
    }
}
