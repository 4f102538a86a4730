package io.flexiserve;

import ai.djl.Device;
import io.flexiserve.finetune.FileStore;
import io.flexiserve.finetune.FineTuningJob;
import io.flexiserve.finetune.FineTuningService;
import io.flexiserve.finetune.JobRunner;
import io.flexiserve.finetune.JobStatus;
import io.flexiserve.finetune.JobStore;
import io.flexiserve.finetune.LocalRunner;
import io.flexiserve.finetune.k8s.KubernetesRunner;
import io.flexiserve.finetune.k8s.KubernetesSettings;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Builds fine-tuning from {@link FlexiServeConfig}: the file and job stores under the data dir, the runner
 * ({@code flexiserve.finetune.runner}), and the job service, whose succeeded router sets are served next to the
 * base model (again after a restart).
 */
@ApplicationScoped
public class FineTuneWiring {

    private static final Logger LOG = Logger.getLogger(FineTuneWiring.class);

    private final FlexiServeConfig config;
    private final FlexiServeWiring models;
    private final Instance<KubernetesClient> kubernetes;

    public FineTuneWiring(FlexiServeConfig config, FlexiServeWiring models, Instance<KubernetesClient> kubernetes) {
        this.config = config;
        this.models = models;
        this.kubernetes = kubernetes;
    }

    @Produces
    @Singleton
    FileStore fileStore() {
        FileStore files = new FileStore(config.dataDir());
        long freed = files.sweep(Instant.now().minus(Duration.ofHours(1)));
        if (freed > 0) {
            LOG.infof("removed %d bytes that unfinished uploads left under %s", freed, config.dataDir().resolve("files"));
        }
        return files;
    }

    /** Created at start-up, so stored jobs are reloaded (and interrupted ones reported) before the first admin call. */
    @Produces
    @Singleton
    @Startup
    FineTuningService fineTuningService(FileStore files) {
        FineTuningService service = new FineTuningService(new JobStore(config.dataDir()), files, runner(), models,
                this::serveResult, () -> System.currentTimeMillis() / 1000);
        service.start();
        service.unreadable().forEach(u -> LOG.errorf("unreadable fine-tuning job record %s: %s", u.file(), u.reason()));
        return service;
    }

    void close(@Disposes FineTuningService service) {
        service.close();
    }

    private JobRunner runner() {
        String runner = config.finetune().runner();
        return switch (runner) {
            case "local" -> new LocalRunner(ai.djl.engine.Engine.getInstance().getGpuCount() > 0 ? Device.gpu() : Device.cpu());
            case "kubernetes" -> new KubernetesRunner(kubernetes.get(), kubernetesSettings(config.finetune().kubernetes()));
            default -> throw new IllegalArgumentException("flexiserve.finetune.runner must be local or kubernetes, not '"
                    + runner + "'");
        };
    }

    private static KubernetesSettings kubernetesSettings(FlexiServeConfig.Finetune.Kubernetes k) {
        return new KubernetesSettings(k.namespace(), k.image(), k.dataClaim(), k.dataMountPath(), k.modelClaim(),
                k.modelMountPath(), k.serviceAccount(), k.gpus(), k.memory(), k.ttlSecondsAfterFinished(), k.pollSeconds(),
                k.podName().or(() -> Optional.ofNullable(System.getenv("HOSTNAME"))));
    }

    /**
     * Once the base model serves: the router sets served before the restart again (as recorded, in their order), or
     * on a first start the results of the jobs that had succeeded, oldest first (a job that continued training a
     * fine-tuned model finds that model served before its own result is); then the stored jobs go on.
     */
    void onBaseReady(@Observes BaseModelReady ready, FineTuningService jobs) {
        if (config.finetune().serveResults() && !models.restoreRouterSets()) {
            serveResults(ready, jobs); // no list of served sets yet (a first start): the succeeded jobs' results
        }
        jobs.baseReady(); // then the stored jobs waiting for it (or for one of those results) go on
    }

    private void serveResults(BaseModelReady ready, FineTuningService jobs) {
        List<FineTuningJob> oldestFirst = new ArrayList<>(jobs.list(null, Integer.MAX_VALUE).data());
        Collections.reverse(oldestFirst);
        for (FineTuningJob job : oldestFirst) {
            if (job.status() == JobStatus.SUCCEEDED && models.baseOf(job.model()).equals(ready.model())
                    && Files.isDirectory(jobs.output(job.id()))) {
                try {
                    serveResult(job, jobs.output(job.id()));
                } catch (RuntimeException | OutOfMemoryError e) { // a broken router set is refused alone; the base serves on
                    LOG.errorf("not serving %s, the result of job %s: %s", job.fineTunedModel(), job.id(), e.getMessage());
                }
            }
        }
    }

    private void serveResult(FineTuningJob job, Path output) {
        if (config.finetune().serveResults() && models.find(job.fineTunedModel()).isEmpty()) {
            models.serve(job.fineTunedModel(), job.model(), output);
        }
    }
}
