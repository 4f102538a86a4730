package io.flexiserve.api;

import io.flexiserve.engine.ServingState;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;
import org.eclipse.microprofile.health.Startup;

/**
 * Started once the model is loaded (or loading failed, which also ends the process); ready only once it is
 * loaded, warmed up and every served model's engine works; live while no engine has died (an engine thread that
 * hit an {@link Error} takes no more work, and only a restart brings it back). Each says why in its body.
 */
@ApplicationScoped
public class ModelHealthChecks {

    private final ServingState state;
    private final ModelRegistry models;

    public ModelHealthChecks(ServingState state, ModelRegistry models) {
        this.state = state;
        this.models = models;
    }

    @Produces
    @Startup
    HealthCheck started() {
        return () -> response("model-loaded", state.phase() != ServingState.Phase.LOADING).build();
    }

    @Produces
    @Readiness
    HealthCheck ready() {
        return () -> response("model-ready", state.isReady() && deadEngine() == null).build();
    }

    @Produces
    @Liveness
    HealthCheck live() {
        return () -> withError(HealthCheckResponse.named("engines")
                .status(deadEngine() == null && state.phase() != ServingState.Phase.FAILED)).build();
    }

    /** "model: reason" for the first served model whose engine died, or null. */
    private String deadEngine() {
        for (ModelEndpoint model : models.all()) {
            String failure = model.engine().failure();
            if (failure != null) {
                return model.name() + ": " + failure;
            }
        }
        return null;
    }

    private HealthCheckResponseBuilder response(String name, boolean up) {
        return withError(HealthCheckResponse.named(name).status(up)
                .withData("phase", state.phase().name().toLowerCase())
                .withData("loaded_percent", Math.round(state.loadedFraction() * 100)));
    }

    /** The reason the model cannot serve, if any: a dead engine's, else the failed load's. */
    private HealthCheckResponseBuilder withError(HealthCheckResponseBuilder builder) {
        String dead = deadEngine();
        String error = dead != null ? dead : state.failure();
        return error == null ? builder : builder.withData("error", error);
    }
}
