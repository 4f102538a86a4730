package io.flexiserve.api;

/**
 * A request refused before it reached an engine, as a CDI event for the metrics.
 *
 * @param model  the served model id, or "unknown" when the request named none that is served
 * @param reason the OpenAI error code (a fixed set, never client text)
 */
public record RequestRejected(String model, String reason) {
}
