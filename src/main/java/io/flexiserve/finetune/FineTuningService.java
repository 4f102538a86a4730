package io.flexiserve.finetune;

import io.flexiserve.model.ModelConfig;
import io.flexiserve.tokenizer.ChatTemplate;
import io.flexiserve.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The life of fine-tuning jobs, OpenAI's way: {@code validating_files} (the training file is read, checked
 * line by line and tokenized before any compute) -> {@code queued} -> {@code running} (on the runner) ->
 * {@code succeeded} / {@code failed} / {@code cancelled}. Every change is stored before it is shown, and
 * every step becomes an event. After a restart, a job that was running is failed with a clear error and can
 * be resumed from its last checkpoint; jobs that had not started are queued again.
 */
public final class FineTuningService implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(FineTuningService.class.getName());

    /** Resolves a served model id to what training starts from. */
    public interface BaseModels {
        Optional<TrainingBase> resolve(String model);
    }

    /**
     * What a job trains on: the base checkpoint and, when the job's model is itself a fine-tuned router set (the
     * recipe's second stage starting from the first's result), that router set's directory; else null.
     */
    public record TrainingBase(Path checkpoint, Path routers) {
    }

    /** Hears of each job that produced a router set (to serve it). */
    public interface Results {
        void trained(FineTuningJob job, Path output);
    }

    /** One page of a newest-first listing. */
    public record Page<T>(List<T> data, boolean hasMore) {
    }

    private final JobStore store;
    private final FileStore files;
    private final JobRunner runner;
    private final BaseModels bases;
    private final Results results;
    private final LongSupplier clock; // Unix seconds
    private final Map<String, FineTuningJob> jobs = new LinkedHashMap<>(); // oldest first; guarded by this
    private final List<String> awaitingBase = new ArrayList<>(); // stored jobs whose model is not served yet; by this
    private final java.util.Set<String> completing = new java.util.HashSet<>(); // trained, result being served; by this
    private final Map<String, List<Subscriber>> subscribers = new java.util.concurrent.ConcurrentHashMap<>();

    /** A follower of one job: each new event, then the end once the job reaches a terminal status. */
    private record Subscriber(Consumer<JobEvent> onEvent, Runnable onEnd) {
    }
    private final ExecutorService validator = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "flexiserve-finetune-validate");
        t.setDaemon(true);
        return t;
    });
    private final SecureRandom random = new SecureRandom();
    private List<JobStore.Unreadable> unreadable = List.of();
    private final List<Consumer<FineTuningJob>> watchers = new CopyOnWriteArrayList<>();

    public FineTuningService(JobStore store, FileStore files, JobRunner runner, BaseModels bases, Results results,
                             LongSupplier clock) {
        this.store = store;
        this.files = files;
        this.runner = runner;
        this.bases = bases;
        this.results = results;
        this.clock = clock;
    }

    /** Loads the stored jobs: running ones fail as resumable, unstarted ones are queued again once their model is served. */
    public synchronized void start() {
        JobStore.Loaded loaded = store.load();
        unreadable = loaded.unreadable();
        unreadable.forEach(u -> LOG.severe("fine-tuning job record " + u.file() + " is unreadable and was left as it is: "
                + u.reason()));
        for (FineTuningJob job : loaded.jobs()) {
            jobs.put(job.id(), job);
            if (job.status() == JobStatus.RUNNING && runner.outlivesService() && runner.name().equals(job.runner())) {
                update(job.withStatus(JobStatus.QUEUED)); // its trainer Job still runs: submitting finds and follows it
                event(job.id(), "info", "Service restarted; following the job's trainer again", null);
                revalidate(get(job.id()));
            } else if (job.status() == JobStatus.RUNNING) {
                interrupt(job);
            } else if (!job.status().terminal()) {
                revalidate(job);
            }
        }
    }

    /**
     * The base model is loaded and serving (with the router sets of finished jobs): the stored jobs that waited for
     * it are validated and queued again.
     */
    public synchronized void baseReady() {
        List<String> waiting = List.copyOf(awaitingBase);
        awaitingBase.clear();
        waiting.forEach(id -> validator.execute(() -> validate(id)));
    }

    /** A stored job that had not finished: validated again now, or once its model is served ({@link #baseReady}). */
    private void revalidate(FineTuningJob job) {
        if (bases.resolve(job.model()).isPresent()) {
            validator.execute(() -> validate(job.id()));
        } else { // at start the base model is still loading: failing the job for it would lose it
            awaitingBase.add(job.id());
            event(job.id(), "info", "Service restarted; the job continues once its model " + job.model() + " is served",
                    null);
        }
    }

    /** A running job the service stopped under: failed, resumable from its last checkpoint. */
    private void interrupt(FineTuningJob job) {
        String at = job.metrics() == null ? "before its first step" : "at step " + job.metrics().step();
        event(job.id(), "error", "Job interrupted by a service restart " + at, null); // before the status ends streams
        update(job.failed(new JobError("service_restarted", "The service stopped while this job was running ("
                + at + "). Resume it with POST /admin/v1/fine_tuning/jobs/" + job.id()
                + "/resume; it continues from its last checkpoint.", null), clock.getAsLong(), true));
    }

    /** Hears of every job record as it is stored (for meters); called with the service's lock held. */
    public void watch(Consumer<FineTuningJob> watcher) {
        watchers.add(watcher);
        synchronized (this) {
            jobs.values().forEach(watcher);
        }
    }

    /** Job records on disk that could not be read (reported, never dropped). */
    public synchronized List<JobStore.Unreadable> unreadable() {
        return unreadable;
    }

    public FineTuningJob create(JobRequest request) {
        Path checkpoint = bases.resolve(request.model()).orElseThrow(() -> new JobSpecException("model",
                "The model `" + request.model() + "` is not served here; fine-tune one of the ids in /v1/models.")).checkpoint();
        StoredFile file = files.get(request.trainingFile()).orElseThrow(() -> new JobSpecException("training_file",
                "No such file: '" + request.trainingFile() + "'. Upload it with POST /admin/v1/files first."));
        if (!file.purpose().equals("fine-tune")) {
            throw new JobSpecException("training_file", "File " + file.id() + " was uploaded with purpose '"
                    + file.purpose() + "', not 'fine-tune'.");
        }
        request.hyperparameters().checkRoutingLayers(ModelConfig.read(checkpoint).numLayers());
        byte[] idBytes = new byte[12];
        random.nextBytes(idBytes);
        String id = "ftjob-" + HexFormat.of().formatHex(idBytes);
        FineTuningJob job = new FineTuningJob(id, clock.getAsLong(), request.model(), file.id(), request.suffix(),
                request.hyperparameters(), JobStatus.VALIDATING_FILES, null, null, null, null, null, null, runner.name(),
                request.metadata(), false);
        synchronized (this) {
            update(job);
        }
        event(id, "info", "Validating training file: " + file.id(), null);
        validator.execute(() -> validate(id));
        return job;
    }

    /** Reads, checks and tokenizes the training file; then queues the job, or fails it naming the bad lines. */
    private void validate(String id) {
        FineTuningJob job = get(id);
        if (job.status().terminal()) {
            return;
        }
        try {
            TrainingBase base = bases.resolve(job.model()).orElseThrow(() -> new JobSpecException("model",
                    "the model " + job.model() + " is no longer served"));
            Path checkpoint = base.checkpoint();
            String tooLarge = TrainingFile.tooLarge(files.content(job.trainingFile()));
            if (tooLarge != null) {
                refuse(id, new JobError("training_file_too_large", tooLarge, "training_file"), true); // a larger heap may
                return;
            }
            TrainingFile.Contents contents = TrainingFile.read(files.content(job.trainingFile()));
            if (!contents.problems().isEmpty()) {
                refuse(id, new JobError("invalid_training_file", "The training file " + job.trainingFile() + " has "
                        + contents.summary(), "training_file"), false);
                return;
            }
            int maxLength = Math.min(job.hyperparameters().maxLength(), ModelConfig.read(checkpoint).maxPositionEmbeddings());
            TrainingSet set;
            try (Tokenizer tokenizer = Tokenizer.load(checkpoint)) {
                set = TrainingSet.of(contents.conversations(), ChatTemplate.load(checkpoint), tokenizer, maxLength);
            }
            if (set.examples().isEmpty()) {
                refuse(id, new JobError("invalid_training_file", "All " + set.dropped() + " examples are longer than "
                        + "max_length " + maxLength + " tokens.", "hyperparameters.max_length"), false);
                return;
            }
            event(id, "info", "Files validated: " + set.examples().size() + " examples, " + set.tokens() + " tokens, "
                    + set.dropped() + " dropped as longer than " + maxLength + " tokens. Moving job to queued state", null);
            if (transition(id, j -> j.status().terminal() ? j : j.withStatus(JobStatus.QUEUED)).status() == JobStatus.QUEUED) {
                boolean resumed = store.resumeRequested(id);
                runner.submit(new JobRunner.Assignment(get(id), checkpoint, base.routers(), files.content(job.trainingFile()),
                        store.workDir(id), resumed), new Reporter(id));
                if (resumed) {
                    store.resumeRequested(id, false); // handed over: a later restart follows what it started
                }
                if (get(id).status() == JobStatus.CANCELLED) { // cancelled while being handed over: the runner stops it
                    runner.cancel(id);
                }
            }
        } catch (io.flexiserve.tokenizer.TokenizerException e) { // the template refused a conversation of the file
            refuse(id, new JobError("invalid_training_file", "The conversations of the training file "
                    + job.trainingFile() + " cannot be rendered with the model's chat template: " + e.getMessage(),
                    "training_file"), false);
        } catch (JobSpecException e) { // the job itself, not its file: its model is no longer served
            refuse(id, new JobError("model_not_found", e.getMessage(), e.param()), false);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "validating job " + id + " failed", e);
            refuse(id, new JobError("invalid_training_file", "The training file could not be read: " + e.getMessage(),
                    "training_file"), false);
        } catch (RuntimeException e) { // the checkpoint's tokenizer or template, or the runner: not the user's file
            LOG.log(Level.WARNING, "validating job " + id + " failed", e);
            refuse(id, new JobError("validation_error", "The job could not be prepared: " + e.getMessage(), null), true);
        }
    }

    /**
     * Fails a job its validation refused; a trainer that a restarted service was following again (a Kubernetes Job
     * still running) is stopped with it, not left running with no one to follow it.
     */
    private void refuse(String id, JobError error, boolean resumable) {
        fail(id, error, resumable);
        runner.cancel(id);
    }

    /** Fails a job, its error the last event; {@code resumable} when it may continue from its last checkpoint. */
    private void fail(String id, JobError error, boolean resumable) {
        event(id, "error", error.message(), null);
        finish(id, j -> j.failed(error, clock.getAsLong(), resumable));
    }

    public synchronized FineTuningJob get(String id) {
        FineTuningJob job = jobs.get(id);
        if (job == null) {
            throw new NoSuchElementException("No fine-tuning job with id '" + id + "'.");
        }
        return job;
    }

    /** Newest first, after the job {@code after} (a cursor from the previous page), at most {@code limit}. */
    public synchronized Page<FineTuningJob> list(String after, int limit) {
        List<FineTuningJob> newest = new ArrayList<>(jobs.values());
        java.util.Collections.reverse(newest);
        return page(newest, after == null ? -1 : indexOf(newest, after, FineTuningJob::id), limit);
    }

    public FineTuningJob cancel(String id) {
        synchronized (this) {
            FineTuningJob job = get(id);
            if (job.status().terminal()) {
                throw new JobSpecException(null, "Job " + id + " has already " + job.status().wire()
                        + "; it cannot be cancelled.");
            }
            if (completing.contains(id)) {
                throw new JobSpecException(null, "Job " + id + " has finished training and its model is being served;"
                        + " it cannot be cancelled.");
            }
            event(id, "info", "Fine-tuning job cancelled", null);
            finish(id, j -> j.cancelled(clock.getAsLong())); // under the lock: a success reported now finds it ended
        }
        runner.cancel(id); // outside it: a Kubernetes runner deletes the trainer Job over the network
        return get(id);
    }

    /** Continues a job that a restart or a runner failure interrupted, from its last checkpoint. */
    public FineTuningJob resume(String id) {
        synchronized (this) { // two resumes at once: the second finds the job queued
            FineTuningJob job = get(id);
            if (!job.resumable()) {
                throw new JobSpecException(null, "Job " + id + " is " + job.status().wire() + " and cannot be resumed;"
                        + " only jobs interrupted while running can.");
            }
            store.resumeRequested(id, true); // before the record says queued: a restart between them still resumes
            transition(id, FineTuningJob::requeued);
        }
        event(id, "info", "Resuming: job queued again", null);
        validator.execute(() -> validate(id));
        return get(id);
    }

    /** Newest first, as OpenAI lists events. */
    public Page<JobEvent> events(String id, String after, int limit) {
        get(id);
        List<JobEvent> newest = new ArrayList<>(store.events(id));
        java.util.Collections.reverse(newest);
        return page(newest, after == null ? -1 : indexOf(newest, after, JobEvent::id), limit);
    }

    /**
     * Delivers each new event of the job, and {@code onEnd} once it has reached a terminal status (after its last
     * event), until the returned handle is closed.
     */
    public AutoCloseable subscribe(String id, Consumer<JobEvent> onEvent, Runnable onEnd) {
        get(id);
        Subscriber s = new Subscriber(onEvent, onEnd);
        subscribers.computeIfAbsent(id, k -> new CopyOnWriteArrayList<>()).add(s);
        return () -> subscribers.getOrDefault(id, List.of()).remove(s);
    }

    /** A job that has not finished whose training file is {@code fileId}, if any (the file must stay). */
    public synchronized Optional<String> unfinishedJobOf(String fileId) {
        return jobs.values().stream().filter(j -> !j.status().terminal() && j.trainingFile().equals(fileId))
                .map(FineTuningJob::id).findFirst();
    }

    /** The job's checkpoints, newest first. */
    public List<TrainingCheckpointInfo> checkpoints(String id) {
        FineTuningJob job = get(id);
        return TrainingCheckpointInfo.list(store.workDir(id).resolve("checkpoints"), job);
    }

    /** The job's checkpoints, newest first, after the checkpoint {@code after}, at most {@code limit}. */
    public Page<TrainingCheckpointInfo> checkpoints(String id, String after, int limit) {
        List<TrainingCheckpointInfo> newest = checkpoints(id);
        return page(newest, after == null ? -1 : indexOf(newest, after, TrainingCheckpointInfo::id), limit);
    }

    /**
     * The model a job's result is served as, {@code ft:<root base>:<suffix>:<8 characters of its id>} (OpenAI names
     * fine-tuned models by the root base, also for a stage trained on from another fine-tuned model); known from
     * the job's creation, so its checkpoints are named by it from the first.
     */
    public static String fineTunedModel(FineTuningJob job) {
        String root = job.model().startsWith("ft:") ? job.model().split(":")[1] : job.model();
        return "ft:" + root + ":" + (job.suffix() == null ? "flexidepth" : job.suffix()) + ":"
                + job.id().substring("ftjob-".length(), "ftjob-".length() + 8);
    }

    /** The model a job's checkpoint at {@code step} is served as, unless a name is given. */
    public static String checkpointModel(FineTuningJob job, int step) {
        return fineTunedModel(job) + ":ckpt-step-" + step;
    }

    /** The output directory of a succeeded job. */
    public Path output(String id) {
        return store.workDir(id).resolve("output");
    }

    private static <T> int indexOf(List<T> items, String id, java.util.function.Function<T, String> key) {
        for (int i = 0; i < items.size(); i++) {
            if (key.apply(items.get(i)).equals(id)) {
                return i;
            }
        }
        throw new JobSpecException("after", "No item with id '" + id + "' to continue after.");
    }

    private static <T> Page<T> page(List<T> newest, int afterIndex, int limit) {
        int from = afterIndex + 1;
        int to = Math.min(newest.size(), from + limit);
        return new Page<>(List.copyOf(newest.subList(Math.min(from, newest.size()), to)), to < newest.size());
    }

    private synchronized FineTuningJob transition(String id, java.util.function.UnaryOperator<FineTuningJob> change) {
        FineTuningJob next = change.apply(get(id));
        update(next);
        return next;
    }

    /** A terminal transition, unless the job already ended (a cancel wins over a late result). */
    private FineTuningJob finish(String id, java.util.function.UnaryOperator<FineTuningJob> change) {
        return transition(id, j -> j.status().terminal() ? j : change.apply(j));
    }

    private void update(FineTuningJob job) {
        store.save(job);
        jobs.put(job.id(), job);
        watchers.forEach(w -> w.accept(job));
        if (job.status().terminal()) {
            subscribers.getOrDefault(job.id(), List.of()).forEach(s -> s.onEnd().run());
        }
    }

    private void event(String jobId, String level, String message, Map<String, Object> data) {
        byte[] idBytes = new byte[8];
        random.nextBytes(idBytes);
        JobEvent e = new JobEvent("ftevent-" + HexFormat.of().formatHex(idBytes), clock.getAsLong(), level, message,
                data == null ? "message" : "metrics", data);
        store.append(jobId, e);
        subscribers.getOrDefault(jobId, List.of()).forEach(s -> s.onEvent().accept(e));
    }

    @Override
    public void close() {
        validator.shutdownNow();
        runner.close();
    }

    /** Turns one job's runner reports into records and events. */
    private final class Reporter implements JobRunner.Reports {
        private final String id;
        private boolean started;

        Reporter(String id) {
            this.id = id;
        }

        private void ensureStarted() {
            if (!started) {
                started = true;
                transition(id, j -> j.status() == JobStatus.QUEUED ? j.started(clock.getAsLong()) : j);
                event(id, "info", "Fine-tuning job started", null);
            }
        }

        @Override
        public void message(String text) {
            ensureStarted();
            event(id, "info", text, null);
        }

        @Override
        public void step(StepMetrics m) {
            ensureStarted();
            transition(id, j -> j.status() == JobStatus.RUNNING ? j.withMetrics(m) : j);
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("step", m.step());
            data.put("total_steps", m.totalSteps());
            data.put("train_loss", m.loss());
            data.put("lm_loss", m.lmLoss());
            data.put("skip_loss", m.skipLoss());
            data.put("layers_used", m.layersUsed());
            data.put("learning_rate", m.learningRate());
            event(id, "info", String.format(java.util.Locale.ROOT, "Step %d/%d: training loss=%.4f, layers used=%.2f",
                    m.step(), m.totalSteps(), m.loss(), m.layersUsed()), data);
        }

        @Override
        public void checkpoint(Path dir, StepMetrics m) {
            event(id, "info", "Checkpoint created at step " + m.step(), null);
        }

        @Override
        public void succeeded(Path output) {
            FineTuningJob job;
            synchronized (FineTuningService.this) {
                job = get(id);
                if (job.status().terminal()) {
                    return; // cancelled while the last step ran
                }
                completing.add(id); // a cancel from here on is refused: the result is being served
            }
            try {
                String name = fineTunedModel(job);
                FineTuningJob done = job.succeeded(name, clock.getAsLong());
                event(id, "info", "New fine-tuned model created: " + name, null);
                try {
                    results.trained(done, output);
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "serving " + name + " failed", e);
                    event(id, "warn", "The router set could not be served: " + e.getMessage(), null);
                }
                // the last event goes out before the status that ends event streams
                event(id, "info", "The job has successfully completed", null);
                finish(id, j -> done);
            } finally {
                synchronized (FineTuningService.this) {
                    completing.remove(id);
                }
            }
        }

        @Override
        public void failed(JobError error) {
            fail(id, error, error.code().equals("training_error"));
        }

        @Override
        public void cancelled() {
            finish(id, j -> j.cancelled(clock.getAsLong()));
        }

        @Override
        public void interrupted() {
            synchronized (FineTuningService.this) {
                FineTuningJob job = get(id);
                if (!job.status().terminal()) {
                    interrupt(job);
                }
            }
        }
    }
}
