package io.flexiserve.admin;

import io.flexiserve.admin.AdminBodies.Deleted;
import io.flexiserve.admin.AdminBodies.ListBody;
import io.flexiserve.admin.AdminBodies.ServeRequest;
import io.flexiserve.admin.AdminBodies.ServedModelBody;
import io.flexiserve.api.ApiJson;
import io.flexiserve.api.OpenAiException;
import io.flexiserve.finetune.FineTuningJob;
import io.flexiserve.finetune.FineTuningService;
import io.flexiserve.finetune.JobStatus;
import io.flexiserve.finetune.TrainingCheckpointInfo;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.nio.file.Path;

/**
 * {@code GET/POST/DELETE /admin/v1/models}: the fine-tuned router sets served next to their base model, sharing
 * its weights. POST serves a succeeded job's result (or one of its checkpoints) under the job's model id.
 */
@ApplicationScoped
public class ModelAdminRoutes {

    private final RouterSets sets;
    private final FineTuningService jobs;
    private final ApiJson json;
    private final AdminRoutes routes;

    public ModelAdminRoutes(RouterSets sets, FineTuningService jobs, ApiJson json, AdminRoutes routes) {
        this.sets = sets;
        this.jobs = jobs;
        this.json = json;
        this.routes = routes;
    }

    void mount(@Observes Router router) {
        String path = AdminRoutes.PREFIX + "/models";
        router.get(path).blockingHandler(routes.guard(ctx -> routes.send(ctx, 200, ListBody.of(sets.list().stream()
                .map(ModelAdminRoutes::body).toList(), false, ServedModelBody::id))), false);
        router.post(path).handler(BodyHandler.create(false).setBodyLimit(1 << 16))
                .blockingHandler(routes.guard(this::serve), false).failureHandler(routes::failure);
        router.delete(path + "/:id").blockingHandler(routes.guard(ctx -> {
            String id = ctx.pathParam("id");
            if (!sets.remove(id)) {
                throw new OpenAiException(404, "invalid_request_error", "model_not_found", "model",
                        "No fine-tuned router set `" + id + "` is served.");
            }
            routes.send(ctx, 200, new Deleted(id, "model", true));
        }), false);
    }

    private void serve(RoutingContext ctx) {
        ServeRequest r = json.read(ctx.body().asString(), ServeRequest.class);
        if (r.jobId() == null) {
            throw OpenAiException.invalid("fine_tuning_job_id", "Missing required parameter: 'fine_tuning_job_id'.");
        }
        FineTuningJob job = jobs.get(r.jobId());
        Path dir;
        String id;
        if (r.checkpoint() == null) {
            if (job.status() != JobStatus.SUCCEEDED) {
                throw OpenAiException.invalid("fine_tuning_job_id", "Job " + job.id() + " is " + job.status().wire()
                        + "; only a succeeded job has a result (or name one of its checkpoints).");
            }
            dir = jobs.output(job.id());
            id = r.model() != null ? r.model() : job.fineTunedModel();
        } else {
            TrainingCheckpointInfo c = jobs.checkpoints(job.id()).stream().filter(x -> x.id().equals(r.checkpoint()))
                    .findFirst().orElseThrow(() -> OpenAiException.invalid("checkpoint", "Job " + job.id()
                            + " has no checkpoint '" + r.checkpoint() + "'."));
            dir = c.dir();
            id = r.model() != null ? r.model() : FineTuningService.checkpointModel(job, c.step());
        }
        try {
            routes.send(ctx, 200, body(sets.serve(id, job.model(), dir)));
        } catch (IllegalArgumentException e) { // the id is taken, or the set does not fit the base
            throw OpenAiException.invalid("model", e.getMessage());
        }
    }

    private static ServedModelBody body(RouterSets.Served s) {
        return new ServedModelBody(s.id(), "model", s.created(), s.base(), s.routedLayers());
    }
}
