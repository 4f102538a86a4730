package io.flexiserve.metrics;

import io.flexiserve.engine.EngineListener;
import io.flexiserve.engine.FinishReason;
import io.flexiserve.engine.SequenceStats;
import io.flexiserve.engine.StepStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.prometheus.client.Histogram;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The serving and depth meters of one model (docs/architecture.md section 7), fed by its engine's step and finish
 * records. Depth: {@code flexidepth_layers_used} gets one observation per forward row (phase decode for
 * rows that produced a generated token, prefill for the other prompt rows; a Prometheus histogram because
 * Micrometer refuses the bucket at 0), and
 * {@code flexidepth_layer_tokens_total{layer,path}} counts the same rows per routed layer.
 */
final class EngineMetrics implements EngineListener {

    private final Counter promptTokens;
    private final Counter generationTokens;
    private final Map<FinishReason, Counter> finished = new EnumMap<>(FinishReason.class);
    private final Timer timeToFirstToken;
    private final Timer interTokenLatency;
    private final Timer e2eLatency;
    private final Timer queueTime;
    private final DistributionSummary batchSize;
    private final Histogram.Child prefillLayers;
    private final Histogram.Child decodeLayers;
    private final Counter[] runs;
    private final Counter[] skips;

    EngineMetrics(MeterRegistry registry, Histogram layersUsed, String model, List<Integer> routedLayers,
                  Duration[] latencyBuckets) {
        Tags tags = Tags.of("model", model);
        promptTokens = Counter.builder("flexiserve_prompt_tokens").description("Prompt tokens processed.")
                .tags(tags).register(registry);
        generationTokens = Counter.builder("flexiserve_generation_tokens").description("Tokens generated.")
                .tags(tags).register(registry);
        for (FinishReason reason : FinishReason.values()) {
            finished.put(reason, Counter.builder("flexiserve_requests_finished")
                    .description("Sequences (choices) finished, by finish reason.")
                    .tags(tags.and("finish_reason", reason.openAiName())).register(registry));
        }
        timeToFirstToken = latency(registry, "flexiserve_time_to_first_token", "From arrival to the first generated token.", tags, latencyBuckets);
        interTokenLatency = latency(registry, "flexiserve_inter_token_latency", "Between consecutive tokens of a sequence.", tags, latencyBuckets);
        e2eLatency = latency(registry, "flexiserve_e2e_request_latency", "From arrival to the end of a sequence.", tags, latencyBuckets);
        queueTime = latency(registry, "flexiserve_request_queue_time", "From arrival to admission into the engine.", tags, latencyBuckets);
        batchSize = DistributionSummary.builder("flexiserve_batch_size").description("Sequences per forward step.")
                .tags(tags).serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64, 128, 256).register(registry);
        prefillLayers = layersUsed.labels(model, "prefill");
        decodeLayers = layersUsed.labels(model, "decode");
        runs = new Counter[routedLayers.size()];
        skips = new Counter[routedLayers.size()];
        for (int r = 0; r < runs.length; r++) {
            String layer = String.valueOf(routedLayers.get(r));
            runs[r] = layerTokens(registry, tags.and("layer", layer, "path", "run"));
            skips[r] = layerTokens(registry, tags.and("layer", layer, "path", "skip"));
        }
    }

    @Override
    public void onStep(StepStats s) {
        batchSize.record(s.sequences());
        promptTokens.increment(s.promptTokens());
        generationTokens.increment(s.generatedTokens());
        record(prefillLayers, s.prefillLayers());
        record(decodeLayers, s.decodeLayers());
        for (int r = 0; r < runs.length; r++) {
            runs[r].increment(s.routedRuns()[r]);
            skips[r].increment(s.routedSkips()[r]);
        }
        for (double seconds : s.firstTokenSeconds()) {
            timeToFirstToken.record((long) (seconds * 1e9), TimeUnit.NANOSECONDS);
        }
        for (double seconds : s.interTokenSeconds()) {
            interTokenLatency.record((long) (seconds * 1e9), TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void onFinished(FinishReason reason, SequenceStats stats) {
        finished.get(reason).increment();
        e2eLatency.record((long) (stats.totalSeconds() * 1e9), TimeUnit.NANOSECONDS);
        if (!Double.isNaN(stats.queueSeconds())) {
            queueTime.record((long) (stats.queueSeconds() * 1e9), TimeUnit.NANOSECONDS);
        }
    }

    private static void record(Histogram.Child histogram, long[] counts) {
        for (int layers = 0; layers < counts.length; layers++) {
            for (long i = 0; i < counts[layers]; i++) {
                histogram.observe(layers);
            }
        }
    }

    private static Timer latency(MeterRegistry registry, String name, String description, Tags tags, Duration[] buckets) {
        return Timer.builder(name).description(description).tags(tags).serviceLevelObjectives(buckets).register(registry);
    }

    private static Counter layerTokens(MeterRegistry registry, Tags tags) {
        return Counter.builder("flexidepth_layer_tokens").description("Forward rows per routed layer that ran it or took its adapter.")
                .tags(tags).register(registry);
    }
}
