package io.flexiserve.bench;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Prefill through the HTTP API of a running service: one prompt of n token ids with {@code max_tokens} 1, timed
 * end to end (its time to first token) while the service's resident memory is sampled every 20 ms; and several
 * such prompts sent at once, for the time to first token under concurrent prompts.
 */
final class PrefillBench {

    private final HttpBench service;
    private final int lowestId; // prompt ids are drawn from [lowestId, lowestId + idSpan)
    private final int idSpan;

    private final AtomicInteger calls = new AtomicInteger();

    /** For a model of {@code vocab} tokens: ids from 1000 to 30000 where the vocabulary has them (ordinary text). */
    PrefillBench(HttpBench service, int vocab) {
        this.service = service;
        this.lowestId = Math.min(1000, vocab / 4);
        this.idSpan = Math.min(29000, vocab / 2);
    }

    /** One prompt: its tokens/s and how far resident memory rose above where it stood before the request. */
    record Prompt(int tokens, float threshold, double seconds, double tokensPerSecond, double rssGrowthMb, double rssPeakMb) {
    }

    /** {@code streams} prompts of {@code tokens} each sent at once: mean and worst time to first token. */
    record Concurrent(int streams, int tokens, float threshold, double ttftMeanS, double ttftWorstS) {
    }

    Prompt prompt(int tokens, float threshold) throws Exception {
        long before = residentBytes();
        AtomicLong peak = new AtomicLong(before);
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peak.accumulateAndGet(residentBytes(), Math::max);
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "rss-sampler");
        sampler.start();
        double seconds;
        try {
            seconds = complete(tokens, 0, threshold);
        } finally {
            sampler.interrupt();
            sampler.join();
        }
        return new Prompt(tokens, threshold, round(seconds), round(tokens / seconds), round((peak.get() - before) / 1e6),
                round(peak.get() / 1e6));
    }

    Concurrent concurrent(int streams, int tokens, float threshold) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(streams);
        try {
            List<Future<Double>> futures = new ArrayList<>();
            for (int i = 0; i < streams; i++) {
                int client = i + 1;
                futures.add(pool.submit(() -> complete(tokens, client, threshold)));
            }
            double sum = 0;
            double worst = 0;
            for (Future<Double> f : futures) {
                double s = f.get();
                sum += s;
                worst = Math.max(worst, s);
            }
            return new Concurrent(streams, tokens, threshold, round(sum / streams), round(worst));
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Seconds for one completion of a {@code tokens}-id prompt with one generated token. Every prompt is new (the
     * call counts into its seed), so the prefix cache never serves one: this measures computing them.
     */
    private double complete(int tokens, int client, float threshold) throws IOException, InterruptedException {
        Random random = new Random(tokens * 31L + client + 1_000_003L * calls.incrementAndGet());
        StringBuilder ids = new StringBuilder();
        for (int i = 0; i < tokens; i++) {
            ids.append(i == 0 ? "" : ",").append(lowestId + random.nextInt(idSpan));
        }
        String body = "{\"model\":\"" + service.model() + "\",\"prompt\":[" + ids + "],\"max_tokens\":1,\"temperature\":0,"
                + "\"flexidepth\":{\"threshold\":" + threshold + "}}";
        HttpRequest request = HttpRequest.newBuilder(service.base().resolve("v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
        long start = System.nanoTime();
        HttpResponse<String> response = service.http().send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("prefill of " + tokens + " tokens: HTTP " + response.statusCode() + " " + response.body());
        }
        return (System.nanoTime() - start) / 1e9;
    }

    private long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + service.process().pid() + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // the process is gone, or this is not Linux
        }
        return 0;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
