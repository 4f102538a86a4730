package io.flexiserve.api;

/**
 * A stream dropped because its client stopped reading, as a CDI event for the metrics.
 *
 * @param model  the served model id
 * @param reason {@code buffer_full} (its unsent events reached the stream buffer) or {@code stalled} (its client took
 *               nothing for the stall time)
 */
public record StreamDropped(String model, String reason) {
}
