package io.flexiserve.finetune.k8s;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.flexiserve.finetune.JobError;
import io.flexiserve.finetune.JobRunner;
import io.flexiserve.finetune.TrainerLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs each job as a Kubernetes {@code batch/v1} Job ({@link TrainerJobSpec}) and follows it by polling: new
 * JSON lines of the trainer pod's log become step, checkpoint and message reports; the Job's status decides
 * the outcome (succeeded once the output is on the shared volume, failed with the pod's reason). Cancelling
 * deletes the Job and its pods.
 */
public final class KubernetesRunner implements JobRunner {

    private static final Logger LOG = Logger.getLogger(KubernetesRunner.class.getName());

    private final KubernetesClient client;
    private final KubernetesSettings settings;
    private final String namespace;
    private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "flexiserve-k8s-runner");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, ScheduledFuture<?>> followed = new ConcurrentHashMap<>();
    private TrainerJobSpec.Placement placement; // read from the service's pod at the first submit that finds it

    public KubernetesRunner(KubernetesClient client, KubernetesSettings settings) {
        this.client = client;
        this.settings = settings;
        this.namespace = settings.namespace().orElse(client.getNamespace() == null ? "default" : client.getNamespace());
    }

    @Override
    public String name() {
        return "kubernetes";
    }

    @Override
    public boolean outlivesService() {
        return true;
    }

    @Override
    public void submit(Assignment a, Reports reports) {
        String id = a.job().id();
        try {
            String name = TrainerJobSpec.name(id);
            Job existing = jobs().withName(name).get();
            if (a.resumed() && existing != null && existing.getStatus() != null && failed(existing.getStatus())) {
                replaceFailed(name); // resumed after its trainer failed: a new Job continues from the last checkpoint
                existing = null;
            } // followed again after a restart, a failed Job is found failed by the first poll and reported
            if (existing == null && !a.resumed() && succeededWithoutItsJob(a, reports)) {
                return; // followed again after a restart, its trainer finished and its Job was removed meanwhile
            }
            if (existing == null) { // a job followed again after a restart keeps its running Job
                jobs().resource(TrainerJobSpec.build(a, settings, placement())).create();
            }
            LOG.info("created trainer Job " + namespace + "/" + name + " for " + id);
        } catch (KubernetesClientException e) {
            reports.failed(new JobError("runner_error", "Cannot create the trainer Job: " + e.getMessage(), null));
            return;
        }
        Follower follower = new Follower(a, reports);
        followed.put(id, poller.scheduleWithFixedDelay(follower::poll, 0, settings.pollSeconds(), TimeUnit.SECONDS));
    }

    @Override
    public void cancel(String jobId) {
        stopFollowing(jobId);
        try {
            jobs().withName(TrainerJobSpec.name(jobId)).withPropagationPolicy(io.fabric8.kubernetes.api.model.DeletionPropagation.BACKGROUND)
                    .delete();
        } catch (KubernetesClientException e) {
            LOG.log(Level.WARNING, "cannot delete the trainer Job of " + jobId, e);
        }
    }

    /**
     * A job whose trainer Job is gone (its TTL removed it after it finished) but whose trainer left its output on the
     * shared volume: it succeeded, and is reported so. False when there is no output.
     */
    private static boolean succeededWithoutItsJob(Assignment a, Reports reports) {
        Path output = a.workDir().resolve("output");
        if (!Files.isDirectory(output)) {
            return false;
        }
        reports.message("The trainer Job is gone (removed after it finished); its output is complete");
        reports.succeeded(output);
        return true;
    }

    /** The service pod's tolerations and node selector, read once it is found (trainer pods run where it may). */
    private synchronized TrainerJobSpec.Placement placement() {
        if (placement == null && settings.podName().isPresent()) {
            try {
                Pod own = client.pods().inNamespace(namespace).withName(settings.podName().get()).get();
                if (own != null && own.getSpec() != null) {
                    placement = new TrainerJobSpec.Placement(
                            own.getSpec().getTolerations() == null ? List.of() : List.copyOf(own.getSpec().getTolerations()),
                            own.getSpec().getNodeSelector() == null ? Map.of() : Map.copyOf(own.getSpec().getNodeSelector()));
                }
            } catch (KubernetesClientException e) {
                LOG.log(Level.WARNING, "cannot read this service's pod " + settings.podName().get()
                        + "; trainer pods get no tolerations or node selector", e);
            }
        }
        return placement == null ? TrainerJobSpec.Placement.ANYWHERE : placement;
    }

    /** Deletes a failed trainer Job (kept by Kubernetes until its TTL) and waits until its name is free again. */
    private void replaceFailed(String name) {
        jobs().withName(name).withPropagationPolicy(io.fabric8.kubernetes.api.model.DeletionPropagation.BACKGROUND).delete();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (jobs().withName(name).get() != null) {
            if (System.nanoTime() > deadline) {
                throw new KubernetesClientException("the failed trainer Job " + name + " was not deleted within 60 s");
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KubernetesClientException("interrupted while replacing " + name);
            }
        }
    }

    private static boolean failed(JobStatus status) {
        return status.getConditions() != null && status.getConditions().stream()
                .anyMatch(c -> "Failed".equals(c.getType()) && "True".equals(c.getStatus()));
    }

    private void stopFollowing(String jobId) {
        ScheduledFuture<?> f = followed.remove(jobId);
        if (f != null) {
            f.cancel(false);
        }
    }

    private io.fabric8.kubernetes.client.dsl.NonNamespaceOperation<Job, io.fabric8.kubernetes.api.model.batch.v1.JobList,
            io.fabric8.kubernetes.client.dsl.ScalableResource<Job>> jobs() {
        return client.batch().v1().jobs().inNamespace(namespace);
    }

    @Override
    public void close() {
        poller.shutdownNow();
    }

    /**
     * Passes on reports from the first step after {@code known} on: following a trainer again after a restart
     * replays its whole log, whose earlier lines the job's events already hold.
     */
    private static final class AfterStep implements io.flexiserve.finetune.TrainingListener {
        private final io.flexiserve.finetune.TrainingListener target;
        private final int known;
        private boolean caughtUp;

        AfterStep(io.flexiserve.finetune.TrainingListener target, int known) {
            this.target = target;
            this.known = known;
            this.caughtUp = known == 0;
        }

        @Override
        public void message(String text) {
            if (caughtUp) {
                target.message(text);
            }
        }

        @Override
        public void step(io.flexiserve.finetune.StepMetrics metrics) {
            caughtUp |= metrics.step() > known;
            if (caughtUp) {
                target.step(metrics);
            }
        }

        @Override
        public void checkpoint(Path dir, io.flexiserve.finetune.StepMetrics metrics) {
            if (metrics.step() > known) {
                target.checkpoint(dir, metrics);
            }
        }

    }

    /** One job's polling state: log lines already replayed. */
    private final class Follower {
        private final Assignment assignment;
        private final Reports reports;
        private final AfterStep replay; // log lines go through it, lifecycle reports do not
        private int linesSeen;
        private boolean running;
        private String outcome; // the trainer's last word ("failed: ..."), read from its log
        private String pending; // why its pod has not started, as last reported

        private static int count(Integer n) {
            return n == null ? 0 : n;
        }

        Follower(Assignment assignment, Reports reports) {
            this.assignment = assignment;
            this.reports = reports;
            this.replay = new AfterStep(reports, assignment.job().metrics() == null ? 0 : assignment.job().metrics().step());
        }

        void poll() {
            String id = assignment.job().id();
            try {
                Job job = jobs().withName(TrainerJobSpec.name(id)).get();
                if (job == null) {
                    stopFollowing(id);
                    if (!succeededWithoutItsJob(assignment, reports)) {
                        reports.failed(new JobError("runner_error", "The trainer Job was deleted outside FlexiServe.",
                                null));
                    }
                    return;
                }
                JobStatus status = job.getStatus();
                if (status == null) {
                    return;
                }
                if (!running && (count(status.getActive()) > 0 || count(status.getSucceeded()) > 0 || failed(status))) {
                    running = true; // the job counts as running from its first pod on, as OpenAI's does from its start
                    reports.message("Trainer pod started by Kubernetes Job " + namespace + "/" + job.getMetadata().getName());
                }
                readLog(id);
                if (count(status.getSucceeded()) > 0) {
                    stopFollowing(id);
                    Path output = assignment.workDir().resolve("output");
                    if (Files.isDirectory(output)) {
                        reports.succeeded(output);
                    } else {
                        reports.failed(new JobError("runner_error", "The trainer Job succeeded but " + output
                                + " is missing; is the data volume shared with the service?", null));
                    }
                } else if (failed(status)) {
                    stopFollowing(id);
                    reports.failed(new JobError("training_error", "The trainer Job failed: " + reason(status)
                            + (outcome == null ? "" : "; the trainer said " + outcome), null));
                }
            } catch (KubernetesClientException e) {
                LOG.log(Level.WARNING, "polling the trainer Job of " + id + " failed; will retry", e);
            }
        }

        private String reason(JobStatus status) {
            return status.getConditions().stream().filter(c -> "Failed".equals(c.getType()))
                    .map(c -> c.getReason() + (c.getMessage() == null ? "" : " (" + c.getMessage() + ")")).findFirst()
                    .orElse("unknown");
        }

        /** Replays the trainer pod's log lines that are new since the last poll. */
        private void readLog(String id) {
            List<Pod> pods = client.pods().inNamespace(namespace).withLabel(TrainerJobSpec.JOB_ID_LABEL, id).list().getItems();
            Optional<Pod> newest = pods.stream().max(java.util.Comparator.comparing(p -> p.getMetadata().getCreationTimestamp() == null
                    ? "" : p.getMetadata().getCreationTimestamp()));
            if (newest.isEmpty() || newest.get().getStatus() == null) {
                return;
            }
            if ("Pending".equals(newest.get().getStatus().getPhase())) {
                String why = TrainerPods.pendingReason(newest.get());
                if (why != null && !why.equals(pending)) {
                    reports.message("Trainer pod " + newest.get().getMetadata().getName() + " is not starting: " + why);
                }
                pending = why;
                return;
            }
            String log = client.pods().inNamespace(namespace).withName(newest.get().getMetadata().getName()).getLog();
            List<String> lines = log == null ? List.of() : log.lines().toList();
            if (lines.size() < linesSeen) {
                linesSeen = 0; // a retried pod starts a new log (and resumes from the last checkpoint)
            }
            for (String line : lines.subList(linesSeen, lines.size())) {
                TrainerLog.replay(line, replay).ifPresent(said -> outcome = said);
            }
            linesSeen = lines.size();
        }
    }
}
