package io.flexiserve.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flexiserve.engine.ServingState;
import java.util.List;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.junit.jupiter.api.Test;

/** A model that could not be loaded: started (loading ended), not ready, not live, and every body says why. */
class ModelHealthChecksTest {

    @Test
    void aFailedLoadIsReportedWithItsReason() {
        ServingState state = new ServingState();
        state.loading(0.12);
        ModelHealthChecks checks = new ModelHealthChecks(state, ModelResolutionTest.registry(false, false));
        assertEquals(HealthCheckResponse.Status.DOWN, checks.started().call().getStatus(), "still loading");

        state.failed("out of memory while loading (OutOfMemoryError: Java heap space). Remedy: ...");
        HealthCheckResponse started = checks.started().call();
        HealthCheckResponse ready = checks.ready().call();
        HealthCheckResponse live = checks.live().call();
        assertEquals(HealthCheckResponse.Status.UP, started.getStatus(), "loading ended: the failure is visible, not a restart loop");
        assertEquals(HealthCheckResponse.Status.DOWN, ready.getStatus());
        assertEquals(HealthCheckResponse.Status.DOWN, live.getStatus());
        for (HealthCheckResponse r : List.of(started, ready, live)) {
            assertEquals(state.failure(), r.getData().orElseThrow().get("error"), r.getName());
        }
        assertEquals("failed", ready.getData().orElseThrow().get("phase"));
    }
}
