package io.flexiserve.finetune;

/** Why a job failed, in OpenAI's {@code error} shape; {@code param} may be null. */
public record JobError(String code, String message, String param) {
}
