package io.flexiserve.metrics;

import io.flexiserve.FlexiServeConfig;
import io.flexiserve.api.ModelEndpoint;
import io.flexiserve.api.RequestRejected;
import io.flexiserve.engine.EngineListener;
import io.flexiserve.engine.EngineStats;
import io.flexiserve.engine.ServingState;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.prometheus.client.Histogram;
import java.time.Duration;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The meters of docs/architecture.md section 7: gauges read from each engine's stats snapshot at scrape time (running
 * and waiting requests, KV cache usage), the per-model {@link EngineMetrics} fed by the engine, and the
 * rejected-request counter fed by the HTTP layer's events. Every meter carries the {@code model} label.
 */
@ApplicationScoped
public class ServingMetrics {

    private final MeterRegistry registry;
    private final Duration[] latencyBuckets;
    private final Instance<PrometheusMeterRegistry> prometheus;
    private Histogram layersUsed;
    private final java.util.Set<String> registered = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public ServingMetrics(MeterRegistry registry, Instance<PrometheusMeterRegistry> prometheus, FlexiServeConfig config) {
        this.registry = registry;
        this.prometheus = prometheus;
        this.latencyBuckets = config.metrics().latencyBuckets().stream().map(s -> Duration.ofNanos((long) (s * 1e9))).toArray(Duration[]::new);
    }

    /** The listener that feeds a model's engine statistics into its serving and depth meters. */
    public synchronized EngineListener listenerFor(String model, int numLayers, List<Integer> routedLayers) {
        if (layersUsed == null) {
            layersUsed = layersUsedHistogram(numLayers);
        }
        return new EngineMetrics(registry, layersUsed, model, routedLayers, latencyBuckets);
    }

    /**
     * {@code flexidepth_layers_used}, with a bucket at every integer 0..L (of the first model served; models
     * served together share the base and so its depth). Registered with the Prometheus registry that serves
     * /q/metrics, since Micrometer allows no bucket at 0.
     */
    private Histogram layersUsedHistogram(int numLayers) {
        double[] buckets = new double[numLayers + 1];
        for (int i = 0; i <= numLayers; i++) {
            buckets[i] = i;
        }
        Histogram histogram = Histogram.build("flexidepth_layers_used",
                        "Layers each forward row ran: unrouted layers plus routed layers whose gate passed.")
                .labelNames("model", "phase").buckets(buckets).create();
        if (prometheus.isResolvable()) {
            histogram.register(prometheus.get().getPrometheusRegistry());
        }
        return histogram;
    }

    /** {@code flexiserve_model_load_progress_ratio}: fraction of the checkpoint loaded, 0..1, while and after loading. */
    public void registerLoadProgress(String model, ServingState state) {
        Gauge.builder("flexiserve_model_load_progress_ratio", state, ServingState::loadedFraction)
                .description("Fraction of the model checkpoint loaded (1 once loaded).").tags(Tags.of("model", model))
                .register(registry);
    }

    /** Counts a request refused before it reached the engine; reasons are OpenAI error codes (a fixed set). */
    void rejected(@Observes RequestRejected event) {
        io.micrometer.core.instrument.Counter.builder("flexiserve_requests_rejected")
                .description("Requests refused before reaching an engine, by OpenAI error code.")
                .tags(Tags.of("model", event.model(), "reason", event.reason())).register(registry).increment();
    }

    /** Counts a stream dropped because its client stopped reading, by why (a fixed set). */
    void dropped(@Observes io.flexiserve.api.StreamDropped event) {
        io.micrometer.core.instrument.Counter.builder("flexiserve_streams_dropped")
                .description("Streams dropped because the client stopped reading: buffer_full or stalled.")
                .tags(Tags.of("model", event.model(), "reason", event.reason())).register(registry).increment();
    }

    /** Registers the gauges of a model id once it serves. */
    public void register(ModelEndpoint model) {
        if (!registered.add(model.name())) {
            return;
        }
        Tags tags = Tags.of("model", model.name());
        gauge("flexiserve_requests_running", "Sequences admitted to the engine (holding KV cache rows, or preempted and waiting to recompute them).", tags, model,
                s -> s.running());
        gauge("flexiserve_requests_waiting", "Sequences submitted and waiting for admission.", tags, model, s -> s.waiting());
        gauge("flexiserve_kv_cache_usage_ratio", "Fraction of KV cache blocks held by admitted sequences.", tags, model,
                EngineStats::kvUsage);
        gauge("flexiserve_kv_cache_blocks", "KV cache blocks by state: used by sequences, cached for their prefix, free.",
                tags.and("state", "used"), model, EngineStats::blocksInUse);
        gauge("flexiserve_kv_cache_blocks", "KV cache blocks by state: used by sequences, cached for their prefix, free.",
                tags.and("state", "cached"), model, EngineStats::blocksCached);
        gauge("flexiserve_kv_cache_blocks", "KV cache blocks by state: used by sequences, cached for their prefix, free.",
                tags.and("state", "free"), model, EngineStats::blocksFree);
        counter("flexiserve_prefix_cache_query_tokens", "Prompt tokens looked up in the prefix cache.", tags, model,
                EngineStats::prefixQueryTokens);
        counter("flexiserve_prefix_cache_hit_tokens", "Prompt tokens found in the prefix cache (not computed again).", tags,
                model, EngineStats::prefixHitTokens);
        counter("flexiserve_preemptions", "Sequences preempted for KV blocks, to be recomputed.", tags, model,
                EngineStats::preemptions);
    }

    private void counter(String name, String description, Tags tags, ModelEndpoint model,
                         ToDoubleFunction<EngineStats> value) {
        FunctionCounter.builder(name, model, m -> value.applyAsDouble(m.engine().stats())).description(description)
                .tags(tags).register(registry);
    }

    /** Removes every meter of a model that stopped being served (a router set taken down). */
    public void unregister(String model) {
        registered.remove(model);
        registry.getMeters().stream().filter(m -> model.equals(m.getId().getTag("model"))).toList().forEach(registry::remove);
        if (layersUsed != null) {
            for (String phase : List.of("prefill", "decode")) {
                layersUsed.remove(model, phase);
            }
        }
    }

    private void gauge(String name, String description, Tags tags, ModelEndpoint model, ToDoubleFunction<EngineStats> value) {
        Gauge.builder(name, model, m -> value.applyAsDouble(m.engine().stats())).description(description).tags(tags)
                .register(registry);
    }
}
