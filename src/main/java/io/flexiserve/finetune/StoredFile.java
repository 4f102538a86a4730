package io.flexiserve.finetune;

/** An uploaded file's record (OpenAI's {@code file} object). */
public record StoredFile(String id, long bytes, long createdAt, String filename, String purpose) {
}
