package io.flexiserve.bench;

import io.flexiserve.engine.Engine;
import io.flexiserve.engine.EngineConfig;
import io.flexiserve.engine.FinishReason;
import io.flexiserve.engine.GeneratedToken;
import io.flexiserve.engine.GenerationRequest;
import io.flexiserve.engine.SamplingParams;
import io.flexiserve.engine.SequenceStats;
import io.flexiserve.engine.TokenConstraint;
import io.flexiserve.engine.TokenSink;
import io.flexiserve.model.FlexiDepthModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/** Decode speed through the engine itself (no HTTP): one or more greedy sequences that never stop early. */
final class DecodeBench {

    private final FlexiDepthModel model;
    private final int tokens;

    DecodeBench(FlexiDepthModel model, int tokens) {
        this.model = model;
        this.tokens = tokens;
    }

    /** Result of one run: generated tokens per second over all sequences, and mean layers per generated token. */
    record Result(double tokensPerSecond, double avgLayers) {
    }

    /**
     * One sequence at each threshold, {@code rounds} times over, the thresholds interleaved within each round so
     * that the machine's drift (it is shared and noisy) hits them alike; per threshold, the best round (noise only
     * ever slows a run down). {@code afterRound} runs between rounds (the bench re-measures bandwidth there).
     */
    Map<Float, Result> batch1(float[] thresholds, int rounds, Runnable afterRound) throws Exception {
        return interleaved(1, thresholds, rounds, afterRound);
    }

    /**
     * {@code sequences} sequences submitted together at each threshold, thresholds alternating over {@code rounds}
     * rounds, the best round reported: the engine's own throughput at that concurrency, to set against the same
     * level through HTTP.
     */
    Map<Float, Result> batched(int sequences, float[] thresholds, int rounds) throws Exception {
        return interleaved(sequences, thresholds, rounds, () -> { });
    }

    private Map<Float, Result> interleaved(int sequences, float[] thresholds, int rounds, Runnable afterRound)
            throws Exception {
        Map<Float, Result> best = new LinkedHashMap<>();
        try (Engine engine = engine(sequences)) {
            run(engine, sequences, thresholds[0]); // warm-up at the measured width: kernels, page faults
            JitQuiet.await();
            for (int round = 0; round < rounds; round++) {
                for (float t : thresholds) {
                    best.merge(t, run(engine, sequences, t), (a, b) -> a.tokensPerSecond() >= b.tokensPerSecond() ? a : b);
                }
                afterRound.run();
            }
        }
        return best;
    }

    /**
     * {@code sequences} sequences together at full depth, sampled at temperature 1 (sequence s seeded with s, so
     * that runs with and without a constraint draw alike), each with its own constraint from {@code constraint}
     * (none when it gives null); the engine is the caller's.
     */
    Result constrained(Engine engine, int sequences, Supplier<TokenConstraint> constraint) throws Exception {
        return run(engine, sequences, 0f, constraint, s -> new SamplingParams(1, 1, 0, 0, 0, 0, 1, Map.of(), (long) s));
    }

    /**
     * An engine sized for {@code sequences} sequences of this bench's length: each gets its length in whole KV blocks
     * and one block more (the cache is allocated in whole blocks, and the scheduler keeps a spare), so that no run is
     * preempted.
     */
    Engine engine(int sequences) {
        int maxLen = Math.min(model.maxPositions(), 16 + tokens + 1);
        int block = EngineConfig.DEFAULT_BLOCK_SIZE;
        int kvTokens = sequences * ((maxLen + block - 1) / block + 1) * block;
        return new Engine(model, new EngineConfig(sequences, Math.max(512, 16 * sequences), sequences, kvTokens, maxLen),
                "bench");
    }

    private Result run(Engine engine, int sequences, float threshold) throws Exception {
        return run(engine, sequences, threshold, () -> null, s -> SamplingParams.GREEDY);
    }

    private Result run(Engine engine, int sequences, float threshold, Supplier<TokenConstraint> constraint,
                       IntFunction<SamplingParams> sampling) throws Exception {
        List<Timed> sinks = new ArrayList<>();
        for (int s = 0; s < sequences; s++) {
            int[] prompt = new int[16];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = (s * 31 + i * 7 + 1) % model.config().vocabSize();
            }
            Timed sink = new Timed();
            engine.submit(new GenerationRequest(prompt, sampling.apply(s), tokens, Set.of(), threshold, -1,
                    constraint.get()), sink);
            sinks.add(sink);
        }
        long first = Long.MAX_VALUE;
        long last = 0;
        long generated = 0;
        long layers = 0;
        for (Timed sink : sinks) {
            sink.done.get(30, TimeUnit.MINUTES);
            first = Math.min(first, sink.firstNanos);
            last = Math.max(last, sink.lastNanos);
            generated += sink.count - 1; // tokens after the first: decode steps, not prefill
            layers += sink.layers;
        }
        double seconds = (last - first) / 1e9;
        return new Result(generated / seconds, (double) layers / (generated + sequences));
    }

    /** Records when tokens arrive and the layers they used. */
    private static final class Timed implements TokenSink {
        final CompletableFuture<FinishReason> done = new CompletableFuture<>();
        long firstNanos;
        long lastNanos;
        long count;
        long layers;

        @Override
        public boolean onToken(GeneratedToken token) {
            long now = System.nanoTime();
            if (count++ == 0) {
                firstNanos = now;
            }
            lastNanos = now;
            layers += token.layersUsed();
            return true;
        }

        @Override
        public void onFinish(FinishReason reason, SequenceStats stats) {
            done.complete(reason);
        }

        @Override
        public void onError(String message) {
            done.completeExceptionally(new IllegalStateException(message));
        }
    }
}
