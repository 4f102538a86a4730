package io.flexiserve.finetune;

import java.nio.file.Path;

/** Where jobs train: in this JVM ({@link LocalRunner}) or as Kubernetes Jobs ({@code finetune.k8s}). */
public interface JobRunner extends AutoCloseable {

    /**
     * What a runner needs to train one job.
     *
     * @param routers the router set training starts from (a fine-tuned model's), or null for the checkpoint's own
     * @param resumed  asked to resume after a failure: a trainer that failed is replaced, where a job followed again
     *                 after a restart reports its trainer's failure
     */
    record Assignment(FineTuningJob job, Path checkpoint, Path routers, Path trainingFile, Path workDir, boolean resumed) {
    }

    /** How a runner reports back; the service turns these into job records and events. */
    interface Reports extends TrainingListener {

        void succeeded(Path output);

        void failed(JobError error);

        void cancelled();

        /** The service is stopping under the running job (not a cancel): it may resume from its last checkpoint. */
        void interrupted();
    }

    /** Queues the job; {@code reports} hears of it from the runner's own threads. */
    void submit(Assignment assignment, Reports reports);

    /** Asks a queued or running job to stop; it reports {@code cancelled} within one training step. */
    void cancel(String jobId);

    /** {@code local} or {@code kubernetes}. */
    String name();

    /**
     * Whether a job it was running goes on without this process (a Kubernetes Job does; a local worker thread
     * does not), so that after a restart the service follows it again instead of failing it.
     */
    default boolean outlivesService() {
        return false;
    }

    @Override
    void close();
}
