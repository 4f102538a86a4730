/**
 * The admin surface under {@code /admin/v1}, mirroring OpenAI's files and fine-tuning API so that its SDKs
 * work with base URL {@code .../admin/v1}, plus served-model management (loading a fine-tuned router set as
 * another model). May import {@code finetune}, {@code engine}, the OpenAI error types of {@code api}, Vert.x
 * and Quarkus; never tensors.
 */
package io.flexiserve.admin;
