package io.flexiserve.finetune;

import ai.djl.Device;
import io.flexiserve.model.cpu.TorchThreads;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Trains in the service's JVM on one worker thread, so at most one job runs at a time and the others wait in
 * order. Its tensors live outside the engine's KV budget (which is allocated up front), so training never
 * takes memory that admitted requests were promised; it does share the CPU or GPU with serving.
 */
public final class LocalRunner implements JobRunner {

    private static final Logger LOG = Logger.getLogger(LocalRunner.class.getName());

    private final Device device;
    /**
     * One job at a time, on a thread that ends a second after the queue empties: a thread that ran libtorch
     * kernels keeps an OpenMP team that slows every engine's kernels while it lives (see {@code ShortLivedThread}).
     */
    private final ExecutorService worker = idleEndingWorker();
    private final Map<String, AtomicBoolean> cancelled = new ConcurrentHashMap<>(); // by job: stop at the next step
    private volatile boolean closing; // the stops now come from the service stopping, not from cancels

    public LocalRunner(Device device) {
        this.device = device;
    }

    private static ExecutorService idleEndingWorker() {
        ThreadPoolExecutor executor = new ThreadPoolExecutor(1, 1, 1, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "flexiserve-trainer");
            t.setDaemon(true);
            return t;
        });
        executor.allowCoreThreadTimeOut(true);
        return executor;
    }

    @Override
    public String name() {
        return "local";
    }

    @Override
    public void submit(Assignment a, Reports reports) {
        AtomicBoolean flag = new AtomicBoolean();
        cancelled.put(a.job().id(), flag);
        worker.execute(() -> {
            try {
                if (flag.get()) {
                    if (!closing) { // the service stopping before it began leaves it queued for the next start
                        reports.cancelled();
                    }
                    return;
                }
                TorchThreads.useAll(); // a serving engine may have left a one-thread default behind
                RouterTrainer.Outcome outcome = TrainingRun.execute(a.checkpoint(), a.routers(), a.trainingFile(), a.job().hyperparameters(),
                        a.workDir(), device, reports, flag::get);
                if (outcome.output().isPresent()) {
                    reports.succeeded(outcome.output().get());
                } else if (closing) {
                    reports.interrupted();
                } else {
                    reports.cancelled();
                }
            } catch (JobSpecException e) {
                reports.failed(new JobError("invalid_training_data", e.getMessage(), e.param()));
            } catch (Exception | OutOfMemoryError e) {
                LOG.log(Level.WARNING, "fine-tuning job " + a.job().id() + " failed", e);
                reports.failed(new JobError("training_error", "Training failed: " + e, null));
            } finally {
                cancelled.remove(a.job().id());
            }
        });
    }

    @Override
    public void cancel(String jobId) {
        AtomicBoolean flag = cancelled.get(jobId);
        if (flag != null) {
            flag.set(true);
        }
    }

    @Override
    public void close() {
        closing = true; // queued jobs stay queued (shutdownNow drops them unrun); a running one is interrupted
        cancelled.values().forEach(f -> f.set(true));
        worker.shutdownNow();
        try { // the step under way finishes (libtorch ignores interrupts) and its job's record is written before this returns
            if (!worker.awaitTermination(120, TimeUnit.SECONDS)) {
                LOG.warning("the trainer did not stop within 120 s of closing");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
