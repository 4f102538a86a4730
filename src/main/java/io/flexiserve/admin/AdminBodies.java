package io.flexiserve.admin;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.flexiserve.finetune.FineTuningJob;
import io.flexiserve.finetune.Hyperparameters;
import io.flexiserve.finetune.JobError;
import io.flexiserve.finetune.JobEvent;
import io.flexiserve.finetune.StepMetrics;
import io.flexiserve.finetune.StoredFile;
import io.flexiserve.finetune.TrainingCheckpointInfo;
import java.util.List;
import java.util.Map;

/** The JSON objects of the admin API, in OpenAI's shapes (snake_case names, {@code object} tags). */
final class AdminBodies {

    private AdminBodies() {
    }

    record ListBody<T>(String object, List<T> data, @JsonProperty("has_more") boolean hasMore,
                       @JsonProperty("first_id") String firstId, @JsonProperty("last_id") String lastId) {

        static <T> ListBody<T> of(List<T> data, boolean hasMore, java.util.function.Function<T, String> id) {
            return new ListBody<>("list", data, hasMore, data.isEmpty() ? null : id.apply(data.get(0)),
                    data.isEmpty() ? null : id.apply(data.get(data.size() - 1)));
        }
    }

    record FileBody(String id, String object, long bytes, @JsonProperty("created_at") long createdAt, String filename,
                    String purpose, String status, @JsonProperty("status_details") String statusDetails,
                    @JsonProperty("expires_at") Long expiresAt) {

        static FileBody of(StoredFile f) {
            return new FileBody(f.id(), "file", f.bytes(), f.createdAt(), f.filename(), f.purpose(), "processed", null, null);
        }
    }

    record Deleted(String id, String object, boolean deleted) {
    }

    record HyperparametersBody(@JsonProperty("n_epochs") int nEpochs, @JsonProperty("batch_size") int batchSize,
                               @JsonProperty("learning_rate_multiplier") double learningRateMultiplier, String preset,
                               double alpha, @JsonProperty("learning_rate") double learningRate,
                               @JsonProperty("gradient_accumulation_steps") int accumulation,
                               @JsonProperty("max_length") int maxLength, @JsonProperty("warmup_ratio") double warmupRatio,
                               @JsonProperty("weight_decay") double weightDecay,
                               @JsonProperty("max_grad_norm") double maxGradNorm,
                               @JsonProperty("checkpoint_interval") int checkpointInterval,
                               @JsonProperty("routing_layers") List<Integer> routingLayers) {

        static HyperparametersBody of(Hyperparameters h) {
            return new HyperparametersBody(h.epochs(), h.batchSize(), h.learningRate() / Hyperparameters.BASE_LEARNING_RATE,
                    h.preset(), h.alpha(), h.learningRate(), h.accumulation(), h.maxLength(), h.warmupRatio(),
                    h.weightDecay(), h.maxGradNorm(), h.checkpointInterval(), h.routingLayers());
        }
    }

    record MetricsBody(int step, @JsonProperty("total_steps") int totalSteps, @JsonProperty("train_loss") double loss,
                       @JsonProperty("lm_loss") double lmLoss, @JsonProperty("skip_loss") double skipLoss,
                       @JsonProperty("layers_used") double layersUsed, @JsonProperty("learning_rate") double learningRate) {

        static MetricsBody of(StepMetrics m) {
            return m == null ? null : new MetricsBody(m.step(), m.totalSteps(), m.loss(), m.lmLoss(), m.skipLoss(),
                    m.layersUsed(), m.learningRate());
        }
    }

    record MethodBody(String type, Map<String, HyperparametersBody> supervised) {
    }

    record JobBody(String id, String object, @JsonProperty("created_at") long createdAt, String model,
                   @JsonProperty("training_file") String trainingFile, @JsonProperty("validation_file") String validationFile,
                   String status, JobError error, @JsonProperty("fine_tuned_model") String fineTunedModel,
                   @JsonProperty("finished_at") Long finishedAt, @JsonProperty("trained_tokens") Long trainedTokens,
                   @JsonProperty("result_files") List<String> resultFiles, long seed,
                   @JsonProperty("organization_id") String organizationId, HyperparametersBody hyperparameters,
                   MethodBody method, @JsonProperty("estimated_finish") Long estimatedFinish, List<Object> integrations,
                   Map<String, String> metadata, String suffix, MetricsBody metrics, String runner,
                   @JsonProperty("started_at") Long startedAt, boolean resumable) {

        static JobBody of(FineTuningJob j) {
            HyperparametersBody h = HyperparametersBody.of(j.hyperparameters());
            return new JobBody(j.id(), "fine_tuning.job", j.createdAt(), j.model(), j.trainingFile(), null, j.status().wire(),
                    j.error(), j.fineTunedModel(), j.finishedAt(), j.trainedTokens(), List.of(), j.hyperparameters().seed(),
                    "flexiserve", h, new MethodBody("supervised", Map.of("hyperparameters", h)), null, List.of(),
                    j.metadata(), j.suffix(), MetricsBody.of(j.metrics()), j.runner(), j.startedAt(), j.resumable());
        }
    }

    record EventBody(String id, String object, @JsonProperty("created_at") long createdAt, String level, String message,
                     String type, Map<String, Object> data) {

        static EventBody of(JobEvent e) {
            return new EventBody(e.id(), "fine_tuning.job.event", e.createdAt(), e.level(), e.message(), e.type(), e.data());
        }
    }

    record CheckpointBody(String id, String object, @JsonProperty("created_at") long createdAt,
                          @JsonProperty("fine_tuning_job_id") String jobId,
                          @JsonProperty("fine_tuned_model_checkpoint") String model,
                          @JsonProperty("step_number") int step, MetricsBody metrics) {

        static CheckpointBody of(TrainingCheckpointInfo c, String model) {
            return new CheckpointBody(c.id(), "fine_tuning.job.checkpoint", c.createdAt(), c.jobId(), model, c.step(),
                    MetricsBody.of(c.metrics()));
        }
    }

    /** A served model as the admin API lists it. */
    record ServedModelBody(String id, String object, @JsonProperty("created_at") long createdAt, String base,
                           @JsonProperty("routed_layers") List<Integer> routedLayers) {
    }

    /** {@code POST /admin/v1/models}: serve the router set of a succeeded job or of one of its checkpoints. */
    record ServeRequest(@JsonProperty("model") String model, @JsonProperty("fine_tuning_job_id") String jobId,
                        @JsonProperty("checkpoint") String checkpoint) {
    }
}
