package io.flexiserve.finetune.k8s;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;

/** What a trainer pod's status says about it. */
final class TrainerPods {

    private TrainerPods() {
    }

    /**
     * Why a pending pod is not starting, or null while nothing says it is stuck: not scheduled (no node has the GPUs,
     * a taint it does not tolerate) or a container that cannot be created (its image cannot be pulled).
     */
    static String pendingReason(Pod pod) {
        if (pod.getStatus().getConditions() != null) {
            for (PodCondition c : pod.getStatus().getConditions()) {
                if ("PodScheduled".equals(c.getType()) && "False".equals(c.getStatus()) && c.getReason() != null) {
                    return c.getReason() + (c.getMessage() == null ? "" : " (" + c.getMessage() + ")");
                }
            }
        }
        if (pod.getStatus().getContainerStatuses() != null) {
            for (ContainerStatus c : pod.getStatus().getContainerStatuses()) {
                var waiting = c.getState() == null ? null : c.getState().getWaiting();
                if (waiting != null && waiting.getReason() != null && !"ContainerCreating".equals(waiting.getReason())) {
                    return waiting.getReason() + (waiting.getMessage() == null ? "" : " (" + waiting.getMessage() + ")");
                }
            }
        }
        return null;
    }
}
