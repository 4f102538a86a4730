package io.flexiserve.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Requests before the model is ready get 503; a missing or unknown model is 400 or 404, on every endpoint. */
class ModelResolutionTest {

    /** A registry that is still loading, or ready with no model of the asked name. */
    private static ModelRegistry registry(boolean ready) {
        return registry(ready, false);
    }

    /** A registry serving no model, ready or not, draining or not. */
    static ModelRegistry registry(boolean ready, boolean draining) {
        return new ModelRegistry() {
            @Override
            public boolean ready() {
                return ready;
            }

            @Override
            public boolean draining() {
                return draining;
            }

            @Override
            public List<ModelEndpoint> all() {
                return List.of();
            }

            @Override
            public Optional<ModelEndpoint> find(String name) {
                return Optional.empty();
            }
        };
    }

    @Test
    void loadingIs503OnCompletionsAndModels() {
        OpenAiException e = assertThrows(OpenAiException.class,
                () -> new CompletionsHandler(registry(false), new ApiJson(), RequestLimits.DEFAULTS, null, new StructuredOutputs()).resolve("flexidepth-demo"));
        assertEquals(503, e.status());
        assertEquals("model_loading", e.body().error().code());
        OpenAiException models = assertThrows(OpenAiException.class, () -> new ModelsResource(registry(false), new ApiJson()).list());
        assertEquals(503, models.status());
    }

    @Test
    void shuttingDownIs503WithItsOwnCode() {
        OpenAiException e = assertThrows(OpenAiException.class,
                () -> new CompletionsHandler(registry(true, true), new ApiJson(), RequestLimits.DEFAULTS, null, new StructuredOutputs()).resolve("flexidepth-demo"));
        assertEquals(503, e.status());
        assertEquals("shutting_down", e.body().error().code());
    }

    @Test
    void missingModelIs400AndUnknownIs404() {
        CompletionsHandler handler = new CompletionsHandler(registry(true), new ApiJson(), RequestLimits.DEFAULTS, null, new StructuredOutputs());
        assertEquals(400, assertThrows(OpenAiException.class, () -> handler.resolve(null)).status());
        OpenAiException unknown = assertThrows(OpenAiException.class, () -> handler.resolve("gpt-4"));
        assertEquals(404, unknown.status());
        assertEquals("model_not_found", unknown.body().error().code());
    }

    @Test
    void aModelTakenDownBetweenResolvingAndSubmittingIs404AndAStoppingServiceIs503() {
        OpenAiException gone = new CompletionsHandler(registry(true), new ApiJson(), RequestLimits.DEFAULTS, null,
                new StructuredOutputs()).stopped("ft:set");
        assertEquals(404, gone.status());
        assertEquals("model_not_found", gone.body().error().code());
        OpenAiException stopping = new CompletionsHandler(registry(true, true), new ApiJson(), RequestLimits.DEFAULTS,
                null, new StructuredOutputs()).stopped("ft:set");
        assertEquals(503, stopping.status());
        assertEquals("shutting_down", stopping.body().error().code());
    }
}
