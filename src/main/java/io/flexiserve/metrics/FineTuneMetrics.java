package io.flexiserve.metrics;

import io.flexiserve.finetune.FineTuningJob;
import io.flexiserve.finetune.FineTuningService;
import io.flexiserve.finetune.JobStatus;
import io.flexiserve.finetune.StepMetrics;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;

/**
 * The fine-tuning meters of docs/architecture.md section 7: {@code flexiserve_finetune_jobs{status}}, and per job (labels
 * {@code model} = its base, {@code fine_tuning_job} = its id: Prometheus keeps {@code job} for the scrape job) its
 * step, total steps, loss, lm loss, skip loss and average layers used, read from the job's latest stored metrics at
 * scrape time. A job gets them once it has stored a step's metrics and unless it had ended before this process
 * started: the series are those of the jobs this process ran or followed, not of the whole history.
 */
@ApplicationScoped
public class FineTuneMetrics {

    private final MeterRegistry registry;
    private final Map<String, FineTuningJob> latest = new ConcurrentHashMap<>();
    private final Set<String> registered = ConcurrentHashMap.newKeySet();

    public FineTuneMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    void onStart(@Observes StartupEvent event, FineTuningService jobs) {
        for (JobStatus status : JobStatus.values()) {
            Gauge.builder("flexiserve_finetune_jobs", latest, m -> m.values().stream().filter(j -> j.status() == status).count())
                    .description("Fine-tuning jobs by status.").tags(Tags.of("status", status.wire())).register(registry);
        }
        jobs.watch(this::seen);
    }

    private void seen(FineTuningJob job) {
        boolean known = latest.put(job.id(), job) != null;
        if (!known && job.status().terminal()) {
            return; // ended before this process started: counted by status, no series of its own
        }
        if (job.metrics() == null || !registered.add(job.id())) {
            return; // a job's meters appear with its first step, so they never read NaN
        }
        Tags tags = Tags.of("model", job.model(), "fine_tuning_job", job.id());
        gauge("flexiserve_finetune_step", "Optimizer steps done by the job.", tags, job.id(), StepMetrics::step);
        gauge("flexiserve_finetune_total_steps", "Optimizer steps the job will run.", tags, job.id(), StepMetrics::totalSteps);
        gauge("flexiserve_finetune_loss", "Training loss of the job's last step (lm loss + alpha x skip loss).", tags,
                job.id(), StepMetrics::loss);
        gauge("flexiserve_finetune_lm_loss", "Next-token cross-entropy of the job's last step.", tags, job.id(),
                StepMetrics::lmLoss);
        gauge("flexiserve_finetune_skip_loss", "Skip penalty mean_t((sum_l w)^2) of the job's last step.", tags, job.id(),
                StepMetrics::skipLoss);
        gauge("flexiserve_finetune_layers_used", "Average layers per training token at the job's last step.", tags,
                job.id(), StepMetrics::layersUsed);
    }

    private void gauge(String name, String description, Tags tags, String jobId, ToDoubleFunction<StepMetrics> value) {
        Gauge.builder(name, latest, m -> {
            FineTuningJob job = m.get(jobId);
            return value.applyAsDouble(m.get(jobId).metrics());
        }).description(description).tags(tags).register(registry);
    }
}
