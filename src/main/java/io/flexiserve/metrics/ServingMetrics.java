package io.flexiserve.metrics;

import io.flexiserve.api.ModelEndpoint;
import io.flexiserve.engine.EngineStats;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.function.ToDoubleFunction;

/**
 * Serving gauges read from the engine's stats snapshot at scrape time: running and waiting requests and KV
 * cache usage, labelled with the model id.
 */
@ApplicationScoped
public class ServingMetrics {

    private final MeterRegistry registry;
    private final java.util.Set<String> registered = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public ServingMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Registers the gauges of a model id once it serves. */
    public void register(ModelEndpoint model) {
        if (!registered.add(model.name())) {
            return;
        }
        Tags tags = Tags.of("model", model.name());
        gauge("flexiserve_requests_running", "Sequences admitted to the engine (holding KV cache rows).", tags, model,
                s -> s.running());
        gauge("flexiserve_requests_waiting", "Sequences submitted and waiting for admission.", tags, model, s -> s.waiting());
        gauge("flexiserve_kv_cache_usage_ratio", "Fraction of KV cache rows reserved by admitted sequences.", tags, model,
                EngineStats::kvUsage);
    }

    private void gauge(String name, String description, Tags tags, ModelEndpoint model, ToDoubleFunction<EngineStats> value) {
        Gauge.builder(name, model, m -> value.applyAsDouble(m.engine().stats())).description(description).tags(tags)
                .register(registry);
    }
}
