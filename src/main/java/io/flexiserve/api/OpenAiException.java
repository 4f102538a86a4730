package io.flexiserve.api;

/**
 * A request that cannot be served, with what the client sees: an HTTP status and OpenAI's error body
 * {@code {"error": {"message", "type", "param", "code"}}}.
 */
public final class OpenAiException extends RuntimeException {

    private final int status;
    private final String type;
    private final String param;
    private final String code;

    public OpenAiException(int status, String type, String code, String param, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
    }

    /** 400 invalid_request_error with code invalid_value, naming the offending parameter. */
    public static OpenAiException invalid(String param, String message) {
        return new OpenAiException(400, "invalid_request_error", "invalid_value", param, message);
    }

    public static OpenAiException modelNotFound(String model) {
        return new OpenAiException(404, "invalid_request_error", "model_not_found", "model",
                "The model `" + model + "` does not exist.");
    }

    /** 503 shutting_down: the service stops and takes no new requests (another replica will). */
    public static OpenAiException shuttingDown() {
        return new OpenAiException(503, "service_unavailable", "shutting_down", null,
                "The server is shutting down; retry the request (on another replica).");
    }

    /** 400 context_length_exceeded, naming the request's prompt field ({@code messages} or {@code prompt}). */
    public static OpenAiException contextLength(String promptField, int maxModelLen, int promptTokens, int maxTokens) {
        return new OpenAiException(400, "invalid_request_error", "context_length_exceeded", promptField,
                "This model's maximum context length is " + maxModelLen + " tokens. However, you requested "
                        + (promptTokens + maxTokens) + " tokens (" + promptTokens + " in the " + promptField + ", "
                        + maxTokens + " in the completion). Please reduce the length of the " + promptField
                        + " or completion.");
    }

    public int status() {
        return status;
    }

    public ErrorBody body() {
        return new ErrorBody(new ErrorBody.Error(getMessage(), type, param, code));
    }

    /** OpenAI's error JSON. */
    public record ErrorBody(Error error) {

        /** The fields of OpenAI's error object; param and code may be null. */
        public record Error(String message, String type, String param, String code) {
        }
    }
}
