package io.flexiserve.finetune.k8s;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.flexiserve.finetune.JobRunner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The {@code batch/v1} Job for one fine-tuning job: the service image in trainer mode ({@code train ...}),
 * restricted security context, the shared data PVC (and the weights PVC when the base lives there), the
 * trainer ServiceAccount, a GPU limit, and a few retries, each resuming from the last checkpoint.
 */
public final class TrainerJobSpec {

    /** Label carrying the fine-tuning job id on the Job and its pod. */
    public static final String JOB_ID_LABEL = "flexiserve.io/fine-tuning-job";
    static final int BACKOFF_LIMIT = 2;
    /** The trainer's exit status when the job itself is at fault (its data, its routing layers): never retried. */
    public static final int EXIT_INVALID = 2;
    private static final ObjectMapper JSON = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    private TrainerJobSpec() {
    }

    /** Kubernetes object name of a job's trainer (job ids are lowercase hex, a valid DNS-1123 label). */
    public static String name(String jobId) {
        return "flexiserve-train-" + jobId.substring(jobId.indexOf('-') + 1);
    }

    /** Where the service's own pod may run: its trainer pods copy it (none when the pod is not known). */
    public record Placement(List<io.fabric8.kubernetes.api.model.Toleration> tolerations, Map<String, String> nodeSelector) {
        public static final Placement ANYWHERE = new Placement(List.of(), Map.of());
    }

    public static Job build(JobRunner.Assignment a, KubernetesSettings s) {
        return build(a, s, Placement.ANYWHERE);
    }

    public static Job build(JobRunner.Assignment a, KubernetesSettings s, Placement placement) {
        List<String> args = new ArrayList<>(List.of("train", "--checkpoint", a.checkpoint().toString(),
                "--training-file", a.trainingFile().toString(), "--work-dir", a.workDir().toString(),
                "--hyperparameters", hyperparameters(a), "--device", s.gpus() > 0 ? "gpu" : "cpu"));
        if (a.routers() != null) {
            args.addAll(List.of("--routers", a.routers().toString()));
        }
        Map<String, String> labels = Map.of("app.kubernetes.io/name", "flexiserve", "app.kubernetes.io/component", "trainer",
                JOB_ID_LABEL, a.job().id());
        JobBuilder job = new JobBuilder()
                .withNewMetadata().withName(name(a.job().id())).withLabels(labels).endMetadata()
                .withNewSpec().withBackoffLimit(BACKOFF_LIMIT).withTtlSecondsAfterFinished(s.ttlSecondsAfterFinished())
                .withNewPodFailurePolicy() // a retry would fail alike; a node drained under the pod is no failure
                .addNewRule().withAction("FailJob").withNewOnExitCodes().withContainerName("trainer").withOperator("In")
                .withValues(EXIT_INVALID).endOnExitCodes().endRule()
                .addNewRule().withAction("Ignore").addNewOnPodCondition().withType("DisruptionTarget")
                .withStatus("True").endOnPodCondition().endRule()
                .endPodFailurePolicy()
                .withNewTemplate().withNewMetadata().withLabels(labels).endMetadata()
                .withNewSpec().withRestartPolicy("Never").withServiceAccountName(s.serviceAccount())
                .withTolerations(placement.tolerations()).withNodeSelector(placement.nodeSelector().isEmpty() ? null
                        : placement.nodeSelector())
                .withNewSecurityContext().withRunAsNonRoot(true).withRunAsUser(185L).withFsGroup(185L)
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().endSecurityContext()
                .addNewContainer().withName("trainer").withImage(s.image()).withArgs(args)
                .addNewEnv().withName("DJL_OFFLINE").withValue("true").endEnv()
                .addNewEnv().withName("DJL_CACHE_DIR").withValue(s.dataMountPath() + "/.djl").endEnv()
                .withNewSecurityContext().withAllowPrivilegeEscalation(false).withReadOnlyRootFilesystem(true)
                .withNewCapabilities().withDrop("ALL").endCapabilities().endSecurityContext()
                .withNewResources().withLimits(limits(s)).endResources()
                .addNewVolumeMount().withName("data").withMountPath(s.dataMountPath()).endVolumeMount()
                .addNewVolumeMount().withName("tmp").withMountPath("/tmp").endVolumeMount()
                .endContainer()
                .addNewVolume().withName("data").withNewPersistentVolumeClaim().withClaimName(s.dataClaim())
                .endPersistentVolumeClaim().endVolume()
                .addNewVolume().withName("tmp").withNewEmptyDir().endEmptyDir().endVolume()
                .endSpec().endTemplate().endSpec();
        Job built = job.build();
        s.modelClaim().ifPresent(claim -> {
            var pod = built.getSpec().getTemplate().getSpec();
            pod.getContainers().get(0).getVolumeMounts().add(new io.fabric8.kubernetes.api.model.VolumeMountBuilder()
                    .withName("weights").withMountPath(s.modelMountPath()).withReadOnly(true).build());
            pod.getVolumes().add(new io.fabric8.kubernetes.api.model.VolumeBuilder().withName("weights")
                    .withNewPersistentVolumeClaim().withClaimName(claim).withReadOnly(true).endPersistentVolumeClaim().build());
        });
        return built;
    }

    private static Map<String, Quantity> limits(KubernetesSettings s) {
        return s.gpus() > 0 ? Map.of("nvidia.com/gpu", new Quantity(Integer.toString(s.gpus())), "memory",
                new Quantity(s.memory())) : Map.of("cpu", new Quantity("4"), "memory", new Quantity(s.memory()));
    }

    private static String hyperparameters(JobRunner.Assignment a) {
        try {
            return JSON.writeValueAsString(a.job().hyperparameters());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("hyperparameters cannot be written as JSON", e);
        }
    }
}
