package io.flexiserve.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;

/**
 * The prefix cache through the API, with token-id prompts (exact lengths): time to first token of a request whose
 * system prompt was sent before (warm) against one whose was not (cold); the prompt tokens an 8-turn chat computes
 * against the conversation's length; and streams that share a prefix against streams that do not.
 */
final class PrefixBench {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpBench service;

    PrefixBench(HttpBench service) {
        this.service = service;
    }

    /** One streamed completion: when its first token came, its tokens, and the prompt tokens found cached. */
    record Reply(double ttftSeconds, double seconds, int completionTokens, int promptTokens, int cachedTokens) {
    }

    /** {@code samples} pairs: a new system prompt of {@code systemTokens} with a question (cold), then another question. */
    Map<String, Object> followUp(int systemTokens, int samples) throws Exception {
        List<Reply> cold = new ArrayList<>();
        List<Reply> warm = new ArrayList<>();
        for (int s = 0; s < samples; s++) {
            int[] system = ids(systemTokens, 1000 + s);
            cold.add(send(concat(system, ids(20, 2000 + s)), 1));
            warm.add(send(concat(system, ids(20, 3000 + s)), 1));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        double coldTtft = median(cold.stream().mapToDouble(Reply::ttftSeconds).toArray());
        double warmTtft = median(warm.stream().mapToDouble(Reply::ttftSeconds).toArray());
        out.put("system_tokens", systemTokens);
        out.put("ttft_cold_s", round(coldTtft));
        out.put("ttft_warm_s", round(warmTtft));
        out.put("cold_over_warm", round(coldTtft / warmTtft));
        out.put("cached_tokens_warm", warm.stream().mapToInt(Reply::cachedTokens).min().orElse(0));
        out.put("cached_tokens_cold", cold.stream().mapToInt(Reply::cachedTokens).max().orElse(0));
        return out;
    }

    /** A chat of {@code turns} turns: each prompt is the whole conversation so far plus a new user message. */
    Map<String, Object> chat(int turns, int systemTokens, int userTokens, int replyTokens) throws Exception {
        int[] conversation = ids(systemTokens, 4000);
        long computed = 0;
        long prompts = 0;
        for (int t = 0; t < turns; t++) {
            conversation = concat(conversation, ids(userTokens, 5000 + t));
            Reply reply = send(conversation, replyTokens);
            computed += reply.promptTokens() - reply.cachedTokens();
            prompts += reply.promptTokens();
            conversation = concat(conversation, ids(replyTokens, 6000 + t)); // the reply, as the next turn sends it
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("turns", turns);
        out.put("conversation_tokens", conversation.length);
        out.put("prompt_tokens_sent", prompts);
        out.put("prompt_tokens_computed", computed);
        out.put("computed_over_conversation", round((double) computed / conversation.length));
        return out;
    }

    /** {@code streams} requests at once whose prompts share {@code prefixTokens} tokens, then ones that share none. */
    Map<String, Object> sharedPrefix(int streams, int prefixTokens, int tokens) throws Exception {
        int[] prefix = ids(prefixTokens, 7000);
        send(concat(prefix, ids(8, 7001)), 1); // the shared prefix is cached, as for a served system prompt
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("streams", streams);
        out.put("prefix_tokens", prefixTokens);
        out.put("shared", level(streams, tokens, i -> concat(prefix, ids(20, 8000 + i))));
        out.put("distinct", level(streams, tokens, i -> concat(ids(prefixTokens, 9000 + i), ids(20, 8000 + i))));
        return out;
    }

    private Map<String, Object> level(int streams, int tokens, java.util.function.IntFunction<int[]> prompt)
            throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(streams);
        try {
            long start = System.nanoTime();
            List<Future<Reply>> futures = IntStream.range(0, streams)
                    .mapToObj(i -> pool.submit(() -> send(prompt.apply(i), tokens))).toList();
            List<Reply> replies = new ArrayList<>();
            for (Future<Reply> f : futures) {
                replies.add(f.get());
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("tokens_s", round(replies.stream().mapToInt(Reply::completionTokens).sum() / seconds));
            out.put("ttft_mean_s", round(replies.stream().mapToDouble(Reply::ttftSeconds).average().orElse(0)));
            out.put("cached_tokens_mean", round(replies.stream().mapToInt(Reply::cachedTokens).average().orElse(0)));
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    private Reply send(int[] prompt, int maxTokens) throws Exception {
        String body = "{\"model\":\"" + service.model() + "\",\"prompt\":" + Arrays.toString(prompt).replace(" ", "")
                + ",\"max_tokens\":" + maxTokens + ",\"temperature\":0,\"ignore_eos\":true,\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true}}";
        HttpRequest request = HttpRequest.newBuilder(service.base().resolve("v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
        long start = System.nanoTime();
        HttpResponse<java.util.stream.Stream<String>> response = service.http().send(request,
                HttpResponse.BodyHandlers.ofLines());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("HTTP " + response.statusCode());
        }
        double ttft = Double.NaN;
        JsonNode usage = null;
        for (String line : (Iterable<String>) response.body()::iterator) {
            if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
                continue;
            }
            JsonNode chunk = JSON.readTree(line.substring(6));
            if (Double.isNaN(ttft) && chunk.path("choices").size() > 0) {
                ttft = (System.nanoTime() - start) / 1e9;
            }
            if (chunk.path("usage").has("prompt_tokens")) {
                usage = chunk.get("usage");
            }
        }
        if (usage == null) {
            throw new IllegalStateException("a stream without its usage chunk");
        }
        return new Reply(ttft, (System.nanoTime() - start) / 1e9, usage.get("completion_tokens").asInt(),
                usage.get("prompt_tokens").asInt(), usage.path("prompt_tokens_details").path("cached_tokens").asInt());
    }

    private static int[] ids(int count, long seed) {
        Random random = new Random(seed);
        return IntStream.range(0, count).map(i -> 1000 + random.nextInt(29000)).toArray();
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
