package io.flexiserve.finetune;

import java.util.Map;

/**
 * A fine-tuning job as stored and shown: OpenAI's job fields plus FlexiDepth's hyperparameters and live metrics.
 * Immutable; every change makes a new record that the store writes atomically.
 *
 * @param model          the served base model id the job trains routers for
 * @param resumable      whether {@code resume} may continue it from its last checkpoint
 */
public record FineTuningJob(String id, long createdAt, String model, String trainingFile, String suffix,
                            Hyperparameters hyperparameters, JobStatus status, JobError error, String fineTunedModel,
                            Long startedAt, Long finishedAt, Long trainedTokens, StepMetrics metrics, String runner,
                            Map<String, String> metadata, boolean resumable) {

    public FineTuningJob {
        metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
    }

    FineTuningJob withStatus(JobStatus next) {
        return new FineTuningJob(id, createdAt, model, trainingFile, suffix, hyperparameters, next, error, fineTunedModel,
                startedAt, finishedAt, trainedTokens, metrics, runner, metadata, resumable);
    }

    FineTuningJob started(long now) {
        return new FineTuningJob(id, createdAt, model, trainingFile, suffix, hyperparameters, JobStatus.RUNNING, null,
                fineTunedModel, startedAt == null ? now : startedAt, null, trainedTokens, metrics, runner, metadata, false);
    }

    FineTuningJob withMetrics(StepMetrics m) {
        return new FineTuningJob(id, createdAt, model, trainingFile, suffix, hyperparameters, status, error, fineTunedModel,
                startedAt, finishedAt, m.trainedTokens(), m, runner, metadata, resumable);
    }

    FineTuningJob succeeded(String outputModel, long now) {
        return new FineTuningJob(id, createdAt, model, trainingFile, suffix, hyperparameters, JobStatus.SUCCEEDED, null,
                outputModel, startedAt, now, trainedTokens, metrics, runner, metadata, false);
    }

    FineTuningJob failed(JobError why, long now, boolean canResume) {
        return new FineTuningJob(id, createdAt, model, trainingFile, suffix, hyperparameters, JobStatus.FAILED, why,
                fineTunedModel, startedAt, now, trainedTokens, metrics, runner, metadata, canResume);
    }

    FineTuningJob cancelled(long now) {
        return new FineTuningJob(id, createdAt, model, trainingFile, suffix, hyperparameters, JobStatus.CANCELLED, null,
                fineTunedModel, startedAt, now, trainedTokens, metrics, runner, metadata, false);
    }

    FineTuningJob requeued() {
        return new FineTuningJob(id, createdAt, model, trainingFile, suffix, hyperparameters, JobStatus.QUEUED, null,
                fineTunedModel, startedAt, null, trainedTokens, metrics, runner, metadata, false);
    }
}
