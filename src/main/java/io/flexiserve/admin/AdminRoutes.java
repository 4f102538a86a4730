package io.flexiserve.admin;

import io.flexiserve.FlexiServeConfig;
import io.flexiserve.admin.AdminBodies.CheckpointBody;
import io.flexiserve.admin.AdminBodies.Deleted;
import io.flexiserve.admin.AdminBodies.EventBody;
import io.flexiserve.admin.AdminBodies.FileBody;
import io.flexiserve.admin.AdminBodies.JobBody;
import io.flexiserve.admin.AdminBodies.ListBody;
import io.flexiserve.api.ApiJson;
import io.flexiserve.api.OpenAiException;
import io.flexiserve.finetune.FileStore;
import io.flexiserve.finetune.FineTuningService;
import io.flexiserve.finetune.JobSpecException;
import io.flexiserve.finetune.StoredFile;
import io.vertx.core.Handler;
import io.vertx.ext.web.FileUpload;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.nio.file.Path;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * {@code /admin/v1/files} and {@code /admin/v1/fine_tuning/jobs}, OpenAI's shapes and status codes: 400 for bad
 * input (naming the parameter), 404 for unknown ids, 413 for an upload over the limit. Handlers run on worker
 * threads (they touch the disk); the admin token is checked by {@code ApiAuth} before any of them.
 */
@ApplicationScoped
public class AdminRoutes {

    private static final Logger LOG = Logger.getLogger(AdminRoutes.class);
    private static final Set<String> PURPOSES = Set.of("fine-tune");
    static final String PREFIX = "/admin/v1";

    private final FineTuningService jobs;
    private final FileStore files;
    private final ApiJson json;
    private final JobRequests requests;
    private final long maxFileBytes;
    private final Path uploads;

    public AdminRoutes(FineTuningService jobs, FileStore files, ApiJson json, JobRequests requests,
                       FlexiServeConfig config) {
        this.jobs = jobs;
        this.files = files;
        this.json = json;
        this.requests = requests;
        this.maxFileBytes = config.finetune().maxFileBytes();
        this.uploads = config.dataDir().resolve("uploads");
    }

    void mount(@Observes Router router) {
        router.post(PREFIX + "/files").handler(BodyHandler.create(uploads.toString()).setBodyLimit(maxFileBytes)
                .setDeleteUploadedFilesOnEnd(true)).blockingHandler(guard(this::upload), false).failureHandler(this::failure);
        router.get(PREFIX + "/files").blockingHandler(guard(ctx -> send(ctx, 200, listFiles(ctx))), false);
        router.get(PREFIX + "/files/:id").blockingHandler(guard(ctx -> send(ctx, 200, FileBody.of(file(ctx)))), false);
        router.get(PREFIX + "/files/:id/content").blockingHandler(guard(ctx -> ctx.response()
                .putHeader("Content-Type", "application/jsonl").sendFile(files.content(file(ctx).id()).toString())), false);
        router.delete(PREFIX + "/files/:id").blockingHandler(guard(ctx -> {
            String id = file(ctx).id();
            jobs.unfinishedJobOf(id).ifPresent(job -> {
                throw new OpenAiException(409, "invalid_request_error", "file_in_use", null, "File " + id
                        + " is the training file of job " + job + ", which has not finished (it reads the file when it"
                        + " starts); cancel the job or wait for it, then delete the file.");
            });
            send(ctx, 200, new Deleted(id, "file", files.delete(id)));
        }), false);
        String jobPath = PREFIX + "/fine_tuning/jobs";
        router.post(jobPath).handler(BodyHandler.create(false).setBodyLimit(1 << 20))
                .blockingHandler(guard(ctx -> send(ctx, 200, JobBody.of(jobs.create(requests.parse(ctx.body().asString()))))), false)
                .failureHandler(this::failure);
        router.get(jobPath).blockingHandler(guard(ctx -> {
            FineTuningService.Page<io.flexiserve.finetune.FineTuningJob> page = jobs.list(ctx.request().getParam("after"), limit(ctx));
            send(ctx, 200, ListBody.of(page.data().stream().map(JobBody::of).toList(), page.hasMore(), JobBody::id));
        }), false);
        router.get(jobPath + "/:id").blockingHandler(guard(ctx -> send(ctx, 200, JobBody.of(jobs.get(id(ctx))))), false);
        router.post(jobPath + "/:id/cancel").blockingHandler(guard(ctx -> send(ctx, 200, JobBody.of(jobs.cancel(id(ctx))))), false);
        router.post(jobPath + "/:id/resume").blockingHandler(guard(ctx -> send(ctx, 200, JobBody.of(jobs.resume(id(ctx))))), false);
        router.get(jobPath + "/:id/events").blockingHandler(guard(this::events), false);
        router.get(jobPath + "/:id/checkpoints").blockingHandler(guard(this::checkpoints), false);
    }

    private void upload(RoutingContext ctx) {
        String purpose = ctx.request().getFormAttribute("purpose");
        if (purpose == null || !PURPOSES.contains(purpose)) {
            throw OpenAiException.invalid("purpose", "purpose must be 'fine-tune', got " + (purpose == null ? "none" : "'" + purpose + "'"));
        }
        List<FileUpload> uploaded = ctx.fileUploads().stream().filter(u -> u.name().equals("file")).toList();
        if (uploaded.size() != 1) {
            throw OpenAiException.invalid("file", "send exactly one multipart field 'file' with the JSONL content");
        }
        FileUpload u = uploaded.get(0);
        StoredFile stored = files.save(Path.of(u.uploadedFileName()), u.fileName(), purpose, System.currentTimeMillis() / 1000);
        LOG.infof("stored %s (%s, %d bytes)", stored.id(), stored.filename(), stored.bytes());
        send(ctx, 200, FileBody.of(stored));
    }

    private ListBody<FileBody> listFiles(RoutingContext ctx) {
        String purpose = ctx.request().getParam("purpose");
        List<FileBody> all = files.list().stream().filter(f -> purpose == null || f.purpose().equals(purpose))
                .map(FileBody::of).toList();
        return ListBody.of(all, false, FileBody::id);
    }

    private StoredFile file(RoutingContext ctx) {
        String id = id(ctx);
        return files.get(id).orElseThrow(() -> new OpenAiException(404, "invalid_request_error", "not_found", "file_id",
                "No such File object: " + id));
    }

    private void events(RoutingContext ctx) {
        String id = id(ctx);
        if ("true".equals(ctx.request().getParam("stream"))) {
            new EventStream(jobs, json, id, ctx).start();
            return;
        }
        FineTuningService.Page<io.flexiserve.finetune.JobEvent> page = jobs.events(id, ctx.request().getParam("after"), limit(ctx));
        send(ctx, 200, ListBody.of(page.data().stream().map(EventBody::of).toList(), page.hasMore(), EventBody::id));
    }

    private void checkpoints(RoutingContext ctx) {
        var job = jobs.get(id(ctx));
        var page = jobs.checkpoints(job.id(), ctx.request().getParam("after"), limit(ctx));
        send(ctx, 200, ListBody.of(page.data().stream()
                .map(c -> CheckpointBody.of(c, FineTuningService.checkpointModel(job, c.step()))).toList(),
                page.hasMore(), CheckpointBody::id));
    }

    private static String id(RoutingContext ctx) {
        return ctx.pathParam("id");
    }

    private static int limit(RoutingContext ctx) {
        String raw = ctx.request().getParam("limit");
        if (raw == null) {
            return 20;
        }
        try {
            int limit = Integer.parseInt(raw);
            if (limit >= 1 && limit <= 100) {
                return limit;
            }
        } catch (NumberFormatException e) {
            // falls through to the error below
        }
        throw OpenAiException.invalid("limit", "limit must be an integer from 1 to 100, got '" + raw + "'");
    }

    /** Runs a handler and answers its failures in OpenAI's error shape. */
    Handler<RoutingContext> guard(Handler<RoutingContext> handler) {
        return ctx -> {
            try {
                handler.handle(ctx);
            } catch (OpenAiException e) {
                error(ctx, e);
            } catch (JobSpecException e) {
                error(ctx, OpenAiException.invalid(e.param(), e.getMessage()));
            } catch (NoSuchElementException e) {
                error(ctx, new OpenAiException(404, "invalid_request_error", "not_found", "fine_tuning_job_id", e.getMessage()));
            } catch (RuntimeException e) {
                LOG.error("admin request failed", e);
                error(ctx, new OpenAiException(500, "server_error", "internal_error", null,
                        "The server had an error while processing your request."));
            }
        };
    }

    void failure(RoutingContext ctx) {
        if (ctx.statusCode() == 413) {
            error(ctx, new OpenAiException(413, "invalid_request_error", "request_too_large", "file",
                    "The upload exceeds the limit of " + maxFileBytes + " bytes."));
            return;
        }
        if (ctx.failure() != null) {
            LOG.error("admin request failed", ctx.failure());
        }
        int status = ctx.statusCode() >= 400 && ctx.statusCode() < 500 ? ctx.statusCode() : 500;
        error(ctx, new OpenAiException(status, status == 500 ? "server_error" : "invalid_request_error",
                status == 500 ? "internal_error" : "bad_request", null, "The request could not be handled."));
    }

    void error(RoutingContext ctx, OpenAiException e) {
        if (!ctx.response().headWritten()) {
            send(ctx, e.status(), e.body());
        }
    }

    void send(RoutingContext ctx, int status, Object body) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(json.write(body));
    }
}
