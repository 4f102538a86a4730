/**
 * The Kubernetes runner: each fine-tuning job becomes a {@code batch/v1} Job that runs the service's own image
 * in trainer mode on a PVC shared with the service, its progress read back from the pod's JSON log lines. The
 * only package that imports the fabric8 client.
 */
package io.flexiserve.finetune.k8s;
