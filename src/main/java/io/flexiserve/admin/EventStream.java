package io.flexiserve.admin;

import io.flexiserve.admin.AdminBodies.EventBody;
import io.flexiserve.api.ApiJson;
import io.flexiserve.finetune.FineTuningService;
import io.flexiserve.finetune.JobEvent;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code GET .../jobs/{id}/events?stream=true}: the events so far, oldest first, then each new one as it
 * happens, as SSE {@code data:} lines; {@code data: [DONE]} once the job has ended. A client that goes away
 * unsubscribes.
 */
final class EventStream {

    private final FineTuningService jobs;
    private final ApiJson json;
    private final String id;
    private final RoutingContext ctx;
    private final Set<String> sent = new HashSet<>(); // touched on the context only
    private AutoCloseable subscription;
    private io.vertx.core.Context context; // the request's: every write runs on it, in order

    EventStream(FineTuningService jobs, ApiJson json, String id, RoutingContext ctx) {
        this.jobs = jobs;
        this.json = json;
        this.id = id;
        this.ctx = ctx;
    }

    void start() {
        jobs.get(id); // 404 before the stream starts
        // Vertx.runOnContext from a trainer's thread would make a new context on any event loop: the request's own
        // keeps writes ordered and on one thread
        context = ctx.vertx().getOrCreateContext();
        ctx.response().setChunked(true).putHeader("Content-Type", "text/event-stream").putHeader("Cache-Control", "no-cache");
        List<JobEvent> early = new ArrayList<>();
        boolean[] replayed = {false};
        // Events that arrive while the past is read wait for it; writes are ordered by the context's queue.
        subscription = jobs.subscribe(id, e -> {
            synchronized (early) {
                if (!replayed[0]) {
                    early.add(e);
                    return;
                }
                context.runOnContext(v -> write(e));
            }
        }, () -> {
            synchronized (early) {
                if (replayed[0]) { // before that, the replay itself ends the stream
                    context.runOnContext(v -> endIfFinished());
                }
            }
        });
        ctx.response().closeHandler(v -> unsubscribe());
        List<JobEvent> past = new ArrayList<>(jobs.events(id, null, Integer.MAX_VALUE).data());
        java.util.Collections.reverse(past); // oldest first
        synchronized (early) {
            replayed[0] = true;
            past.addAll(early);
            context.runOnContext(v -> {
                past.forEach(this::write);
                endIfFinished();
            });
        }
    }

    private void write(JobEvent e) {
        if (ctx.response().ended() || !sent.add(e.id())) {
            return;
        }
        ctx.response().write("data: " + json.write(EventBody.of(e)) + "\n\n");
    }

    private void endIfFinished() {
        if (!ctx.response().ended() && jobs.get(id).status().terminal()) {
            ctx.response().end("data: [DONE]\n\n");
            unsubscribe();
        }
    }

    private void unsubscribe() {
        try {
            if (subscription != null) {
                subscription.close();
            }
        } catch (Exception e) {
            // removing a listener from a list cannot fail
        }
    }
}
