package io.flexiserve.engine;

/**
 * Where the served model is in its life: loading (with progress), warming up, ready, or failed. Written by
 * the loader thread, read by health checks and request handlers.
 */
public final class ServingState {

    /** The phases in order; FAILED ends the life of a model that could not be served. */
    public enum Phase { LOADING, WARMING_UP, READY, DRAINING, FAILED }

    private volatile Phase phase = Phase.LOADING;
    private volatile double loadedFraction;
    private volatile String failure;

    public Phase phase() {
        return phase;
    }

    public boolean isReady() {
        return phase == Phase.READY;
    }

    /** Fraction of the checkpoint loaded, 0..1. */
    public double loadedFraction() {
        return loadedFraction;
    }

    /** Why loading failed, or null. */
    public String failure() {
        return failure;
    }

    public void loading(double fraction) {
        loadedFraction = fraction;
    }

    public void warmingUp() {
        loadedFraction = 1;
        phase = Phase.WARMING_UP;
    }

    public void ready() {
        phase = Phase.READY;
    }

    /** Shutting down: running requests finish, new ones are refused, readiness goes down. */
    public void draining() {
        phase = Phase.DRAINING;
    }

    public boolean isDraining() {
        return phase == Phase.DRAINING;
    }

    public void failed(String reason) {
        failure = reason;
        phase = Phase.FAILED;
    }
}
