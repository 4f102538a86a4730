package io.flexiserve.api;

import io.flexiserve.api.ResponseBodies.FlexiDepthInfo;
import io.flexiserve.api.ResponseBodies.ModelCard;
import io.flexiserve.api.ResponseBodies.ModelList;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/** {@code GET /v1/models} and {@code GET /v1/models/{id}}, with the context limit and the routed layers of each. */
@Path("/v1/models")
@Produces(MediaType.APPLICATION_JSON)
public class ModelsResource {

    private final ModelRegistry models;
    private final ApiJson json;

    public ModelsResource(ModelRegistry models, ApiJson json) {
        this.models = models;
        this.json = json;
    }

    @GET
    public ModelList list() {
        requireReady();
        return new ModelList("list", models.all().stream().map(ModelsResource::card).toList());
    }

    @GET
    @Path("/{id}")
    public ModelCard get(@PathParam("id") String id) {
        requireReady();
        return card(models.find(id).orElseThrow(() -> OpenAiException.modelNotFound(id)));
    }

    private void requireReady() {
        if (!models.ready()) {
            throw new OpenAiException(503, "service_unavailable", "model_loading", null, "The model is still loading; retry shortly.");
        }
    }

    private static ModelCard card(ModelEndpoint m) {
        return new ModelCard(m.name(), "model", m.created(), "flexiserve", m.maxModelLen(),
                new FlexiDepthInfo(m.numLayers(), m.routedLayers()));
    }

    @ServerExceptionMapper
    public Response map(OpenAiException e) {
        return Response.status(e.status()).type(MediaType.APPLICATION_JSON).entity(json.write(e.body())).build();
    }
}
