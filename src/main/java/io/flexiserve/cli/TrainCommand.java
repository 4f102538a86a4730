package io.flexiserve.cli;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.flexiserve.finetune.Hyperparameters;
import io.flexiserve.finetune.JobSpecException;
import io.flexiserve.finetune.RouterTrainer;
import io.flexiserve.finetune.TrainerLog;
import io.flexiserve.finetune.TrainingRun;
import io.flexiserve.finetune.k8s.TrainerJobSpec;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code train}: the trainer mode a Kubernetes Job runs (the same code as the local runner), printing its
 * progress as JSON lines for the service to read back. SIGTERM (a deleted Job) stops it before the next step.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train FlexiDepth routers and adapters for one job (the Kubernetes runner's trainer mode).")
final class TrainCommand implements Callable<Integer> {

    @Option(names = "--checkpoint", required = true, description = "Base checkpoint directory.")
    Path checkpoint;
    @Option(names = "--routers", description = "Router set directory to continue from (a fine-tuned model's).")
    Path routers;
    @Option(names = "--training-file", required = true, description = "JSONL training file.")
    Path trainingFile;
    @Option(names = "--work-dir", required = true, description = "Checkpoints and output go here; resumes from it.")
    Path workDir;
    @Option(names = "--hyperparameters", required = true, description = "Resolved hyperparameters as JSON (snake_case).")
    String hyperparameters;
    @Option(names = "--device", defaultValue = "auto", description = "cpu, gpu, or auto.")
    String device;

    @Override
    public Integer call() throws Exception {
        TrainerLog log = new TrainerLog(System.out);
        AtomicBoolean stop = new AtomicBoolean();
        java.util.concurrent.CountDownLatch ended = new java.util.concurrent.CountDownLatch(1);
        // SIGTERM (the pod deleted, the Job cancelled): the step under way ends and the outcome line is written
        // before the JVM halts, within the pod's 30 s grace
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.set(true);
            try {
                ended.await(25, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        try {
            Hyperparameters hp = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                    .readValue(hyperparameters, Hyperparameters.class);
            RouterTrainer.Outcome outcome = TrainingRun.execute(checkpoint, routers, trainingFile, hp, workDir, device(), log,
                    stop::get);
            if (outcome.output().isPresent()) {
                log.outcome("succeeded", outcome.output().get().toString());
                return 0;
            }
            log.outcome("cancelled", "stopped before step " + (outcome.last().step() + 1));
            return 3;
        } catch (JobSpecException e) { // the data or the job: a retry fails alike (the Job's pod failure policy)
            log.outcome("failed", e.getMessage());
            return TrainerJobSpec.EXIT_INVALID;
        } catch (Exception e) { // the device, the volume, a bug: said in the log, where the service reads it
            log.outcome("failed", e.toString());
            return 1;
        } finally {
            ended.countDown();
        }
    }

    private Device device() {
        return switch (device) {
            case "cpu" -> Device.cpu();
            case "gpu" -> Device.gpu();
            default -> ai.djl.engine.Engine.getInstance().getGpuCount() > 0 ? Device.gpu() : Device.cpu();
        };
    }
}
