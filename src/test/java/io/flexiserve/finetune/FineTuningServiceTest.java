package io.flexiserve.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.flexiserve.DemoModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Job records across restarts: interrupted jobs fail resumable and resume from their checkpoint; bad records are reported. */
class FineTuningServiceTest {

    @TempDir
    static Path shared;
    static Path checkpoint;

    @TempDir
    Path data;

    @BeforeAll
    static void demo() throws Exception {
        checkpoint = shared.resolve("demo");
        DemoModel.write(checkpoint);
    }

    private final List<Path> served = new CopyOnWriteArrayList<>();
    /** Router sets served as models, as the service would serve a succeeded job's output. */
    private final Map<String, Path> routerSets = new java.util.concurrent.ConcurrentHashMap<>();
    private final AtomicLong clock = new AtomicLong(1_800_000_000L);

    private FineTuningService service() {
        FineTuningService s = new FineTuningService(new JobStore(data), new FileStore(data), new LocalRunner(Device.cpu()),
                model -> model.equals("demo") ? Optional.of(new FineTuningService.TrainingBase(checkpoint, null))
                        : Optional.ofNullable(routerSets.get(model)).map(dir -> new FineTuningService.TrainingBase(checkpoint, dir)),
                (job, out) -> {
                    served.add(out);
                    routerSets.put(job.fineTunedModel(), out);
                },
                clock::incrementAndGet);
        s.start();
        return s;
    }

    private String upload(int conversations) throws Exception {
        Path tmp = Files.createTempFile(data, "upload", ".jsonl");
        Files.writeString(tmp, TrainingData.jsonl(conversations, 3));
        return new FileStore(data).save(tmp, "train.jsonl", "fine-tune", clock.get()).id();
    }

    /** A job created and queued by a service whose runner outlives it (as Kubernetes Jobs do), which then stopped. */
    private String queuedByAServiceThatStopped() throws Exception {
        String file = upload(2);
        try (FineTuningService first = new FineTuningService(new JobStore(data), new FileStore(data), new DetachedRunner(),
                model -> Optional.of(new FineTuningService.TrainingBase(checkpoint, null)), (job, out) -> { },
                clock::incrementAndGet)) {
            first.start();
            String id = first.create(new JobRequest("demo", file, null, hp(1, 10), Map.of())).id();
            await(first, id, JobStatus.QUEUED);
            return id;
        }
    }

    private static Hyperparameters hp(int epochs, int interval) {
        return new Hyperparameters("custom", 0.01, 2e-3, epochs, 4, 1, 512, 0.0, 0.0, 1.0, interval, 42, List.of());
    }

    private static FineTuningJob await(FineTuningService s, String id, JobStatus status) throws InterruptedException {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (s.get(id).status() != status) {
            assertTrue(System.nanoTime() < deadline, id + " is " + s.get(id).status() + ", waited for " + status);
            Thread.sleep(20);
        }
        return s.get(id);
    }

    private static void awaitFirstCheckpoint(FineTuningService s, String id) throws InterruptedException {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (s.checkpoints(id).isEmpty()) {
            assertTrue(System.nanoTime() < deadline, "no checkpoint");
            Thread.sleep(10);
        }
    }

    @Test
    void aJobRunningWhenTheServiceDiedFailsResumableAndResumesFromItsCheckpoint() throws Exception {
        String file = upload(16);
        String id;
        try (FineTuningService first = service()) {
            id = first.create(new JobRequest("demo", file, null, hp(3, 4), Map.of())).id();
            awaitFirstCheckpoint(first, id); // 12 steps, a checkpoint every 4
            first.cancel(id); // stops the worker; the record is then rewritten as it would be on disk after a crash
        }
        JobStore store = new JobStore(data);
        FineTuningJob stored = store.load().jobs().get(0);
        store.save(new FineTuningJob(stored.id(), stored.createdAt(), stored.model(), stored.trainingFile(), null,
                stored.hyperparameters(), JobStatus.RUNNING, null, null, stored.startedAt(), null, stored.trainedTokens(),
                stored.metrics(), "local", Map.of(), false));

        try (FineTuningService second = service()) {
            FineTuningJob interrupted = second.get(id);
            assertEquals(JobStatus.FAILED, interrupted.status());
            assertEquals("service_restarted", interrupted.error().code());
            assertTrue(interrupted.error().message().contains("/resume"), interrupted.error().message());
            assertTrue(interrupted.resumable());
            int checkpointStep = second.checkpoints(id).get(0).step();
            second.resume(id);
            FineTuningJob done = await(second, id, JobStatus.SUCCEEDED);
            assertEquals(12, done.metrics().step());
            List<String> messages = second.events(id, null, 1000).data().stream().map(JobEvent::message).toList();
            assertTrue(messages.contains("Resuming from checkpoint at step " + checkpointStep + " of 12"), messages.toString());
            long stepsAfterResume = messages.stream().filter(m -> m.startsWith("Step ")).filter(m -> {
                int step = Integer.parseInt(m.substring(5, m.indexOf('/')));
                return step > checkpointStep;
            }).count();
            assertTrue(stepsAfterResume >= 12 - checkpointStep, messages.toString());
            assertEquals(1, served.size());
            assertThrows(JobSpecException.class, () -> second.resume(id), "a succeeded job cannot resume");
        }
    }

    @Test
    void theSecondStageContinuesFromTheFirstStagesRouters() throws Exception {
        String file = upload(16);
        try (FineTuningService s = service()) {
            FineTuningJob first = await(s, s.create(new JobRequest("demo", file, "stage1", hp(3, 100), Map.of())).id(),
                    JobStatus.SUCCEEDED);
            Hyperparameters annealing = new Hyperparameters("annealing", 1e-5, 2e-3, 1, 4, 1, 512, 0.0, 0.0, 1.0, 100, 42,
                    List.of());
            FineTuningJob second = await(s, s.create(new JobRequest(first.fineTunedModel(), file, "stage2", annealing,
                    Map.of())).id(), JobStatus.SUCCEEDED);
            assertTrue(second.fineTunedModel().startsWith("ft:demo:stage2:"), second.fineTunedModel());
            double stage1Start = firstStepLmLoss(s, first.id());
            double stage2Start = firstStepLmLoss(s, second.id());
            assertTrue(stage2Start < stage1Start - 0.1, "stage 2 starts where stage 1 ended: first-step lm loss "
                    + stage1Start + " then " + stage2Start);
        }
    }

    private static double firstStepLmLoss(FineTuningService s, String id) {
        return s.events(id, null, 1000).data().stream().filter(e -> e.message().startsWith("Step 1/"))
                .map(e -> ((Number) e.data().get("lm_loss")).doubleValue()).findFirst().orElseThrow();
    }

    /** A runner whose jobs outlive the service, as Kubernetes Jobs do; it only records what it is given. */
    private static final class DetachedRunner implements JobRunner {
        final List<String> submitted = new CopyOnWriteArrayList<>();
        final List<Boolean> resumed = new CopyOnWriteArrayList<>();
        final List<String> cancelled = new CopyOnWriteArrayList<>();

        @Override
        public void submit(Assignment assignment, Reports reports) {
            resumed.add(assignment.resumed());
            submitted.add(assignment.job().id());
        }

        /** Waits (at most 30 s) until a job has been handed over, failing with {@code what}. */
        void awaitSubmitted(String what) throws InterruptedException {
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (submitted.isEmpty()) {
                assertTrue(System.nanoTime() < deadline, what);
                Thread.sleep(10);
            }
        }

        @Override
        public void cancel(String jobId) {
            cancelled.add(jobId);
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
        public void close() {
        }
    }

    @Test
    void aJobWhoseTrainerOutlivesTheServiceIsFollowedAgainNotFailed() throws Exception {
        FineTuningService.BaseModels bases = model -> Optional.of(new FineTuningService.TrainingBase(checkpoint, null));
        String id = queuedByAServiceThatStopped();
        JobStore store = new JobStore(data);
        store.save(store.load().jobs().get(0).started(clock.get())); // the trainer pod had started
        DetachedRunner after = new DetachedRunner();
        try (FineTuningService second = new FineTuningService(new JobStore(data), new FileStore(data), after, bases,
                (job, out) -> { }, clock::incrementAndGet)) {
            second.start();
            after.awaitSubmitted("never handed back to the runner");
            assertEquals(List.of(id), after.submitted);
            assertEquals(List.of(false), after.resumed, "followed again: a failed trainer is reported, not replaced");
            assertEquals(JobStatus.QUEUED, second.get(id).status(), "followed again, not failed");
        }
    }

    /** A followed trainer whose job cannot go on after a restart (its model is gone) is stopped, not left running. */
    @Test
    void aFollowedJobRefusedAfterARestartStopsItsTrainer() throws Exception {
        String id = queuedByAServiceThatStopped();
        JobStore store = new JobStore(data);
        store.save(store.load().jobs().get(0).started(clock.get())); // the trainer pod had started
        DetachedRunner after = new DetachedRunner();
        try (FineTuningService second = new FineTuningService(new JobStore(data), new FileStore(data), after,
                model -> Optional.empty(), (job, out) -> { }, clock::incrementAndGet)) {
            second.start();
            second.baseReady(); // served now, without the job's model
            FineTuningJob failed = await(second, id, JobStatus.FAILED);
            assertEquals("model_not_found", failed.error().code(), "the model, not the file: " + failed.error());
            assertEquals(List.of(id), after.cancelled, "its trainer is stopped with it");
        }
    }

    /**
     * A training file larger than the heap could hold while it is tokenized fails its job before a line is read:
     * reading it would end the service, and again at every restart that validates it.
     */
    @Test
    void aTrainingFileTooLargeForTheHeapFailsItsJobUnread() throws Exception {
        String file = upload(2);
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(new FileStore(data).content(file).toFile(), "rw")) {
            raf.setLength(Runtime.getRuntime().maxMemory()); // sparse: no disk used
        }
        try (FineTuningService s = service()) {
            String id = s.create(new JobRequest("demo", file, null, hp(1, 10), Map.of())).id();
            FineTuningJob failed = await(s, id, JobStatus.FAILED);
            assertEquals("training_file_too_large", failed.error().code());
            assertEquals("training_file", failed.error().param());
            assertTrue(failed.error().message().contains("Java heap"), failed.error().message());
        }
    }

    /** A conversation the model's chat template refuses (its raise_exception) is the file's fault, not the service's. */
    @Test
    void aConversationTheTemplateRefusesFailsTheJobAsAnInvalidFile() throws Exception {
        Path strict = shared.resolve("strict-template");
        if (!Files.exists(strict)) {
            DemoModel.write(strict);
            Path config = strict.resolve("tokenizer_config.json");
            Files.writeString(config, Files.readString(config).replaceFirst("\"chat_template\"\\s*:\\s*\"",
                    "\"chat_template\": \"{% if messages|length > 0 %}{{ raise_exception('Conversation roles must "
                            + "alternate user/assistant/user/assistant/...') }}{% endif %}"));
        }
        String file = upload(2);
        try (FineTuningService s = new FineTuningService(new JobStore(data), new FileStore(data), new LocalRunner(Device.cpu()),
                model -> Optional.of(new FineTuningService.TrainingBase(strict, null)), (job, out) -> { },
                clock::incrementAndGet)) {
            s.start();
            String id = s.create(new JobRequest("demo", file, null, hp(1, 10), Map.of())).id();
            FineTuningJob failed = await(s, id, JobStatus.FAILED);
            assertEquals("invalid_training_file", failed.error().code(), failed.error().toString());
            assertTrue(failed.error().message().contains("roles must alternate"), failed.error().message());
            assertTrue(!failed.resumable(), "the same file fails alike");
        }
    }

    /** Resumed, then restarted before its runner had it: it is handed over as resumed (a failed trainer replaced). */
    @Test
    void aResumeSurvivesARestartBeforeTheHandOver() throws Exception {
        String id = queuedByAServiceThatStopped();
        JobStore store = new JobStore(data);
        FineTuningJob stored = store.load().jobs().get(0);
        store.resumeRequested(id, true); // what resume() writes, then the process died
        store.save(stored.failed(new JobError("training_error", "the trainer failed", null), clock.get(), true).requeued());
        DetachedRunner after = new DetachedRunner();
        try (FineTuningService second = new FineTuningService(new JobStore(data), new FileStore(data), after,
                model -> Optional.of(new FineTuningService.TrainingBase(checkpoint, null)), (job, out) -> { },
                clock::incrementAndGet)) {
            second.start();
            after.awaitSubmitted("never handed to the runner");
            assertEquals(List.of(true), after.resumed, "handed over as resumed");
        }
        assertTrue(!new JobStore(data).resumeRequested(id), "and no longer once handed over");
    }

    /** A restart loads the base model after the jobs: a stored job waits for it instead of failing for it. */
    @Test
    void aStoredJobWaitsForItsModelToBeServedAfterARestart() throws Exception {
        String id = queuedByAServiceThatStopped();
        java.util.concurrent.atomic.AtomicBoolean loaded = new java.util.concurrent.atomic.AtomicBoolean();
        DetachedRunner after = new DetachedRunner();
        try (FineTuningService second = new FineTuningService(new JobStore(data), new FileStore(data), after,
                model -> loaded.get() ? Optional.of(new FineTuningService.TrainingBase(checkpoint, null)) : Optional.empty(),
                (job, out) -> { }, clock::incrementAndGet)) {
            second.start(); // the base model is still loading
            assertEquals(JobStatus.QUEUED, second.get(id).status(), "not failed for a model that is only loading");
            assertTrue(after.submitted.isEmpty());
            loaded.set(true);
            second.baseReady();
            after.awaitSubmitted("never handed to the runner once the model was served");
            assertEquals(List.of(id), after.submitted);
            assertEquals(JobStatus.QUEUED, second.get(id).status());
        }
    }

    /** Stopping the service (a rollout's SIGTERM) under a running job is no cancel: the job resumes after. */
    @Test
    void aServiceStoppedUnderARunningJobLeavesItResumable() throws Exception {
        String file = upload(16);
        String id;
        try (FineTuningService first = service()) {
            id = first.create(new JobRequest("demo", file, null, hp(30, 4), Map.of())).id();
            awaitFirstCheckpoint(first, id); // 120 steps, a checkpoint every 4: far from done at the first
        } // closed while the job trains
        FineTuningJob stored = new JobStore(data).load().jobs().get(0);
        assertEquals(JobStatus.FAILED, stored.status(), "interrupted, not cancelled");
        assertEquals("service_restarted", stored.error().code());
        assertTrue(stored.resumable());
        try (FineTuningService second = service()) {
            second.resume(id);
            assertEquals(120, await(second, id, JobStatus.SUCCEEDED).metrics().step());
        }
    }

    /** A cancel that lands while the job is handed to its runner still reaches the runner, which stops it. */
    @Test
    void aJobCancelledWhileHandedToItsRunnerIsStoppedThere() throws Exception {
        String file = upload(2);
        java.util.concurrent.CountDownLatch inSubmit = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        List<String> cancels = new CopyOnWriteArrayList<>();
        JobRunner slowToSubmit = new JobRunner() {
            @Override
            public void submit(Assignment assignment, Reports reports) {
                inSubmit.countDown();
                try {
                    release.await(60, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }

            @Override
            public void cancel(String jobId) {
                cancels.add(jobId);
            }

            @Override
            public String name() {
                return "local";
            }

            @Override
            public void close() {
            }
        };
        try (FineTuningService s = new FineTuningService(new JobStore(data), new FileStore(data), slowToSubmit,
                model -> Optional.of(new FineTuningService.TrainingBase(checkpoint, null)), (job, out) -> { },
                clock::incrementAndGet)) {
            s.start();
            String id = s.create(new JobRequest("demo", file, null, hp(1, 10), Map.of())).id();
            assertTrue(inSubmit.await(60, java.util.concurrent.TimeUnit.SECONDS), "handed to the runner");
            assertEquals(JobStatus.CANCELLED, s.cancel(id).status());
            release.countDown();
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (cancels.size() < 2) { // the cancel's own, and the hand-over's once it found the job cancelled
                assertTrue(System.nanoTime() < deadline, "the runner was told only " + cancels);
                Thread.sleep(10);
            }
            assertEquals(List.of(id, id), cancels);
        }
    }

    @Test
    void anUnreadableRecordIsReportedAndLeftAsItIs() throws Exception {
        String file = upload(2);
        String good;
        try (FineTuningService first = service()) {
            good = first.create(new JobRequest("demo", file, null, hp(1, 10), Map.of())).id();
            await(first, good, JobStatus.SUCCEEDED);
        }
        Path broken = data.resolve("fine_tuning/jobs/ftjob-0123456789abcdef01234567/job.json");
        Files.createDirectories(broken.getParent());
        byte[] truncated = "{\"id\":\"ftjob-0123456789abcdef01234567\",\"created_at\":17".getBytes();
        Files.write(broken, truncated);
        try (FineTuningService second = service()) {
            assertEquals(1, second.unreadable().size());
            assertEquals("ftjob-0123456789abcdef01234567", second.unreadable().get(0).id());
            assertEquals(JobStatus.SUCCEEDED, second.get(good).status());
            assertArrayEquals(truncated, Files.readAllBytes(broken), "the bad record is not rewritten");
        }
    }

    @Test
    void unknownFilesAndModelsAreRefusedBeforeARecordExists() throws Exception {
        try (FineTuningService s = service()) {
            JobSpecException noFile = assertThrows(JobSpecException.class,
                    () -> s.create(new JobRequest("demo", "file-000000000000000000000000", null, hp(1, 1), Map.of())));
            assertEquals("training_file", noFile.param());
            String file = upload(2);
            assertEquals("model", assertThrows(JobSpecException.class,
                    () -> s.create(new JobRequest("other", file, null, hp(1, 1), Map.of()))).param());
            assertEquals("hyperparameters.batch_size", assertThrows(JobSpecException.class,
                    () -> new Hyperparameters("custom", 0.1, 1e-4, 1, 0, 1, 512, 0, 0, 1, 1, 1, List.of())).param());
            assertEquals("hyperparameters.alpha", assertThrows(JobSpecException.class,
                    () -> new Hyperparameters("custom", -1, 1e-4, 1, 1, 1, 512, 0, 0, 1, 1, 1, List.of())).param());
            assertTrue(s.list(null, 10).data().isEmpty());
            assertTrue(new JobStore(data).load().jobs().isEmpty(), "nothing written");
        }
    }
}
