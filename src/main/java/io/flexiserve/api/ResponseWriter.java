package io.flexiserve.api;

import io.flexiserve.api.ResponseBodies.FlexiDepthUsage;
import io.flexiserve.api.ResponseBodies.PromptTokensDetails;
import io.flexiserve.api.ResponseBodies.Usage;
import io.flexiserve.engine.GeneratedToken;
import io.flexiserve.engine.SequenceHandle;
import io.flexiserve.engine.SequenceStats;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Collects the choices of one response and writes them to the client: as SSE chunks ({@link Streaming}) or
 * as one JSON body ({@link Buffered}). Choices report from the engine thread; writes to Vert.x never block.
 * A client that disconnects cancels every sequence of the response.
 */
abstract class ResponseWriter {

    protected final HttpServerResponse response;
    protected final ResponseMeta meta;
    protected final ResponseShape shape;
    protected final ApiJson json;
    private final ModelEndpoint model;
    private final ChoiceResult[] results;
    private final List<SequenceHandle> handles = new ArrayList<>();
    private int promptTokens;
    private int cachedTokens;
    private final boolean[] countsPrompt; // by choice: the one choice of each prompt whose prompt counts in usage
    private int finished;
    private long completionTokens;
    private long decodeLayers;
    protected boolean closed;

    ResponseWriter(HttpServerResponse response, ResponseMeta meta, ResponseShape shape, ApiJson json, ModelEndpoint model,
                   int choices) {
        this.response = response;
        this.meta = meta;
        this.shape = shape;
        this.json = json;
        this.model = model;
        this.results = new ChoiceResult[choices];
        this.countsPrompt = new boolean[choices];
        response.closeHandler(v -> clientGone());
        closed = response.closed(); // gone while the request was parsed and tokenized, before the handler was set
    }

    /**
     * Before a choice is submitted (it may finish before {@code submit} returns): {@code prompt} is its prompt's
     * length for the one choice that counts it, else 0.
     */
    synchronized void counts(int choice, int prompt) {
        promptTokens += prompt;
        countsPrompt[choice] = prompt > 0;
    }

    /** A submitted choice's sequence. */
    synchronized void track(SequenceHandle handle) {
        handles.add(handle);
        if (closed) {
            handle.cancel();
        }
    }

    abstract void delta(Choice choice, String text, List<TokenDepth> depths, List<GeneratedToken> tokens, String finish);

    /** Called once the response's sequences are all submitted: from here on the client may see output. */
    abstract void start(List<Choice> choices);

    abstract void complete(List<ChoiceResult> choices, Usage usage);

    /** The response cannot be completed: the client gets {@code error} (in a stream, as its last event). */
    abstract void failed(OpenAiException error);

    synchronized void finished(Choice choice, String finishReason, SequenceStats stats) {
        results[choice.index] = choice.result(finishReason);
        completionTokens += stats.generatedTokens();
        if (countsPrompt[choice.index]) {
            cachedTokens += stats.cachedPromptTokens();
        }
        decodeLayers += stats.decodeLayers();
        if (++finished == results.length) {
            complete(Arrays.asList(results), usage());
        }
    }

    synchronized void aborted(Choice choice) {
        cancelAll();
    }

    /** Prompt tokens count once per prompt, as OpenAI counts them; completion tokens sum over choices. */
    private Usage usage() {
        int completion = (int) completionTokens;
        double avg = completion == 0 ? 0 : (double) decodeLayers / completion;
        return new Usage(promptTokens, completion, promptTokens + completion, new PromptTokensDetails(cachedTokens),
                new FlexiDepthUsage(Math.round(avg * 1000) / 1000.0, model.numLayers(), model.routedLayers()));
    }

    synchronized void cancelAll() {
        handles.forEach(SequenceHandle::cancel);
    }

    private synchronized void clientGone() {
        closed = true;
        cancelAll();
    }

    /**
     * Server-sent events: {@code data: {chunk}} per delta, a usage chunk if asked, then {@code data: [DONE]}. A client
     * that stops reading is dropped once its queue of unsent events is full, or once it has accepted none of them for
     * the stall time: a slow stream would otherwise fill the socket buffers only after many minutes.
     */
    static final class Streaming extends ResponseWriter {
        private final boolean includeUsage;
        private final List<String> early = new ArrayList<>();
        private boolean started;
        private boolean ended;
        private final HttpConnection connection;
        private final Vertx vertx;
        private final long stallNanos;
        private final Consumer<String> onDrop; // told buffer_full or stalled
        private int unsent;         // writes handed to Vert.x and not yet taken by the socket
        private long lastProgress;  // System.nanoTime() when the socket last took a write, or when one began to wait

        Streaming(HttpServerResponse response, HttpConnection connection, Vertx vertx, ResponseMeta meta, ResponseShape shape,
                  ApiJson json, ModelEndpoint model, int choices, boolean includeUsage, int maxBufferedBytes, int stallSeconds,
                  Consumer<String> onDrop) {
            super(response, meta, shape, json, model, choices);
            this.connection = connection;
            this.vertx = vertx;
            this.includeUsage = includeUsage;
            this.stallNanos = stallSeconds * 1_000_000_000L;
            this.onDrop = onDrop;
            response.setWriteQueueMaxSize(maxBufferedBytes);
        }

        @Override
        synchronized void start(List<Choice> choices) {
            // the stall check starts with the stream: a request refused before it (429, 503) leaves no timer behind
            vertx.setPeriodic(Math.max(100, stallNanos / 4_000_000), this::checkStall);
            response.setStatusCode(200).setChunked(true)
                    .putHeader("Content-Type", "text/event-stream; charset=utf-8")
                    .putHeader("Cache-Control", "no-cache").putHeader("X-Accel-Buffering", "no");
            started = true;
            for (Choice c : choices) {
                Object opening = shape.opening(meta, c.index);
                if (opening != null) {
                    write(json.write(opening));
                }
                if (!c.echo().isEmpty()) {
                    write(json.write(shape.chunk(meta, c.index, c.echo(), List.of(), List.of(), null)));
                }
            }
            early.forEach(this::write);
            early.clear();
            if (ended) { // everything happened before the headers went out (e.g. the first step failed)
                response.end();
            }
        }

        @Override
        synchronized void delta(Choice choice, String text, List<TokenDepth> depths, List<GeneratedToken> tokens, String finish) {
            Object chunk = shape.chunk(meta, choice.index, text, depths, tokens, finish);
            if (chunk != null) {
                event(json.write(chunk));
            }
        }

        @Override
        synchronized void finished(Choice choice, String finishReason, SequenceStats stats) {
            event(json.write(shape.chunk(meta, choice.index, "", List.of(), List.of(), finishReason)));
            super.finished(choice, finishReason, stats);
        }

        @Override
        synchronized void complete(List<ChoiceResult> choices, Usage usage) {
            if (includeUsage) {
                event(json.write(shape.usageChunk(meta, usage)));
            }
            event("[DONE]");
            end();
        }

        @Override
        synchronized void failed(OpenAiException error) {
            event(json.write(error.body()));
            end();
            cancelAll();
        }

        private void event(String data) {
            if (closed || ended) {
                return;
            }
            if (!started) {
                early.add(data);
                return;
            }
            if (response.writeQueueFull()) {
                dropSlowReader("buffer_full");
                return;
            }
            write(data);
        }

        /**
         * The client reads slower than tokens come (its queue is full, or it took nothing for the stall time): its sequences are cancelled and the
         * connection closed (an error event could not reach a client that is not reading), so it holds neither
         * memory nor engine capacity, and other streams never wait for it. The connection is closed at once, queued
         * bytes and all: {@code response.reset()} would wait for the client to read them before closing, and would
         * never report the request done (graceful shutdown then waited its full timeout for it).
         */
        private void dropSlowReader(String reason) {
            onDrop.accept(reason);
            closed = true;
            ended = true;
            cancelAll();
            connection.close();
        }

        private void write(String data) {
            if (!closed) {
                if (unsent++ == 0) {
                    lastProgress = System.nanoTime(); // the stall clock runs while something waits
                }
                response.write("data: " + data + "\n\n", done -> written());
            }
        }

        /** The socket took one write (or the connection went, which fails the write). */
        private synchronized void written() {
            unsent--;
            lastProgress = System.nanoTime();
        }

        /** Every quarter of the stall time, on the event loop: drops a client that took nothing for the stall time. */
        private synchronized void checkStall(long timer) {
            if (ended || closed) {
                vertx.cancelTimer(timer);
            } else if (unsent > 0 && System.nanoTime() - lastProgress > stallNanos) {
                vertx.cancelTimer(timer);
                dropSlowReader("stalled");
            }
        }

        /** The stream is complete; the response ends now, or once started if the headers are not out yet. */
        private void end() {
            if (!ended) {
                ended = true;
                if (started && !closed) {
                    response.end();
                }
            }
        }
    }

    /** One JSON body once every choice has finished. */
    static final class Buffered extends ResponseWriter {
        private boolean started;
        private Runnable pending;

        Buffered(HttpServerResponse response, ResponseMeta meta, ResponseShape shape, ApiJson json, ModelEndpoint model,
                 int choices) {
            super(response, meta, shape, json, model, choices);
        }

        @Override
        synchronized void start(List<Choice> choices) {
            started = true;
            if (pending != null) {
                pending.run();
            }
        }

        @Override
        void delta(Choice choice, String text, List<TokenDepth> depths, List<GeneratedToken> tokens, String finish) {
            // the whole text is taken from the choice at the end
        }

        @Override
        synchronized void complete(List<ChoiceResult> choices, Usage usage) {
            send(200, json.write(shape.complete(meta, choices, usage)));
        }

        @Override
        synchronized void failed(OpenAiException error) {
            send(error.status(), json.write(error.body()));
            cancelAll();
        }

        private void send(int status, String body) {
            if (!started) {
                pending = () -> send(status, body);
                return;
            }
            if (!closed) {
                closed = true;
                response.setStatusCode(status).putHeader("Content-Type", "application/json").end(body);
            }
        }
    }
}
