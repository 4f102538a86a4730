package io.flexiserve.finetune;

import com.fasterxml.jackson.annotation.JsonValue;

/** OpenAI's fine-tuning job statuses. */
public enum JobStatus {
    VALIDATING_FILES, QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED;

    @JsonValue
    public String wire() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public boolean terminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }
}
