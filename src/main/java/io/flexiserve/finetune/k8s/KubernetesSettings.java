package io.flexiserve.finetune.k8s;

import java.util.Optional;

/**
 * Where and how trainer Jobs run ({@code flexiserve.finetune.kubernetes.*}).
 *
 * @param namespace     empty uses the client's namespace (the service pod's own)
 * @param dataMountPath the data PVC's mount path in both pods; the service's data dir lives under it
 * @param modelClaim    the PVC holding the base weights, mounted read-only at {@code modelMountPath}, if any
 * @param memory        a trainer pod's memory limit (and request), a Kubernetes quantity
 * @param podName       the service's own pod, whose tolerations and node selector trainer pods copy, if known
 */
public record KubernetesSettings(Optional<String> namespace, String image, String dataClaim, String dataMountPath,
                                 Optional<String> modelClaim, String modelMountPath, String serviceAccount, int gpus,
                                 String memory, int ttlSecondsAfterFinished, int pollSeconds, Optional<String> podName) {
}
