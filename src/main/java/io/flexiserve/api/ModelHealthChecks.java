package io.flexiserve.api;

import io.flexiserve.engine.ServingState;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;
import org.eclipse.microprofile.health.Startup;

/**
 * Started once the model is loaded (or loading failed for good, so that the failure is visible rather than
 * the pod restarting forever); ready only once it is loaded and warmed up. Both report progress.
 */
@ApplicationScoped
public class ModelHealthChecks {

    private final ServingState state;

    public ModelHealthChecks(ServingState state) {
        this.state = state;
    }

    @Produces
    @Startup
    HealthCheck started() {
        return () -> response("model-loaded", state.phase() != ServingState.Phase.LOADING);
    }

    @Produces
    @Readiness
    HealthCheck ready() {
        return () -> response("model-ready", state.isReady());
    }

    private HealthCheckResponse response(String name, boolean up) {
        var builder = HealthCheckResponse.named(name).status(up)
                .withData("phase", state.phase().name().toLowerCase())
                .withData("loaded_percent", Math.round(state.loadedFraction() * 100));
        if (state.failure() != null) {
            builder.withData("error", state.failure());
        }
        return builder.build();
    }
}
