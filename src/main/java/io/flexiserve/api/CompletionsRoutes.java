package io.flexiserve.api;

import io.flexiserve.FlexiServeConfig;
import io.vertx.core.Handler;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;
import jakarta.enterprise.event.Observes;
import org.jboss.logging.Logger;

/**
 * Mounts the completion endpoints on Vert.x directly: one handler decides between a JSON body and an SSE
 * stream, writes never block, and a closed connection cancels the sequences at once. Every failure,
 * including a body over the size limit, answers in OpenAI's error shape.
 */
@ApplicationScoped
public class CompletionsRoutes {

    private static final Logger LOG = Logger.getLogger(CompletionsRoutes.class);

    private final CompletionsHandler handler;
    private final ApiJson json;
    private final Event<RequestRejected> rejections;
    private final long maxBodyBytes;

    public CompletionsRoutes(CompletionsHandler handler, ApiJson json, Event<RequestRejected> rejections,
                             FlexiServeConfig config) {
        this.handler = handler;
        this.json = json;
        this.rejections = rejections;
        this.maxBodyBytes = config.api().maxBodyBytes();
    }

    void mount(@Observes Router router) {
        mount(router, "/v1/chat/completions", handler::chat);
        mount(router, "/v1/completions", handler::completion);
    }

    private void mount(Router router, String path, Handler<RoutingContext> endpoint) {
        router.post(path)
                .handler(BodyHandler.create(false).setBodyLimit(maxBodyBytes))
                .blockingHandler(ctx -> {
                    try {
                        endpoint.handle(ctx);
                    } catch (OpenAiException e) {
                        error(ctx, e);
                    }
                }, false)
                .failureHandler(this::failure);
    }

    private void failure(RoutingContext ctx) {
        if (ctx.statusCode() == 413) {
            error(ctx, new OpenAiException(413, "invalid_request_error", "request_too_large", null,
                    "The request body exceeds the limit of " + maxBodyBytes + " bytes."));
            return;
        }
        if (ctx.failure() != null) {
            LOG.error("request failed", ctx.failure());
        }
        int status = ctx.statusCode() >= 400 && ctx.statusCode() < 500 ? ctx.statusCode() : 500;
        error(ctx, new OpenAiException(status, status == 500 ? "server_error" : "invalid_request_error",
                status == 500 ? "internal_error" : "bad_request", null,
                status == 500 ? "The server had an error while processing your request." : "The request could not be handled."));
    }

    private void error(RoutingContext ctx, OpenAiException e) {
        if (ctx.response().headWritten()) {
            return;
        }
        if (e.status() == 429) {
            ctx.response().putHeader("Retry-After", "1");
        }
        if (e.status() < 500) {
            String model = ctx.get(CompletionsHandler.MODEL_KEY);
            rejections.fire(new RequestRejected(model == null ? "unknown" : model, e.body().error().code()));
        }
        ctx.response().setStatusCode(e.status()).putHeader("Content-Type", "application/json").end(json.write(e.body()));
    }
}
