/**
 * Router/adapter fine-tuning (docs/model.md section 6, docs/architecture.md section 6): training files and their
 * validation, job records and their store, the trainer, and the runners that execute jobs (in this JVM;
 * on Kubernetes in {@code finetune.k8s} only). May import {@code model}, {@code tokenizer}, java, DJL and
 * Jackson; never Quarkus or the HTTP layer, so that the same code runs as the trainer inside a Kubernetes Job.
 */
package io.flexiserve.finetune;
