package io.flexiserve;

/** Fired once the base model is loaded, warmed up and serving. */
public record BaseModelReady(String model) {
}
