package io.flexiserve.api;

import io.flexiserve.engine.FinishReason;
import io.flexiserve.engine.GeneratedToken;
import io.flexiserve.engine.SequenceStats;
import io.flexiserve.engine.TokenSink;
import io.flexiserve.tokenizer.IncrementalDetokenizer;
import io.flexiserve.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * One choice of a response: turns the engine's tokens into text deltas (never splitting a UTF-8 character,
 * holding back what may become a stop string) and hands them, with the layers and logprobs of the tokens
 * they came from, to the response writer. Runs on the engine thread.
 */
final class Choice implements TokenSink {

    final int index;
    private final IncrementalDetokenizer detokenizer;
    private final ReplyStops stops;
    private final ResponseWriter writer;
    private final boolean keepTokens;
    private final boolean everyToken;
    private final StringBuilder text;
    private final String echo; // read by the writer's thread while the engine's appends to text
    private final int textOffset;
    private final List<TokenDepth> depths = new ArrayList<>();
    private final List<GeneratedToken> tokens = new ArrayList<>();
    private int sentLayers;
    private int sentTokens;

    /**
     * @param everyToken send a piece for every token even when it adds no text (a streamed response with
     *                   {@code return_layers}: clients see each token's layers as it is generated)
     */
    Choice(int index, Tokenizer tokenizer, ReplyStops stops, ResponseWriter writer, boolean keepTokens,
           boolean everyToken, String echo) {
        this.index = index;
        this.detokenizer = new IncrementalDetokenizer(tokenizer);
        this.stops = stops;
        this.writer = writer;
        this.keepTokens = keepTokens;
        this.everyToken = everyToken;
        this.echo = echo;
        this.text = new StringBuilder(echo);
        this.textOffset = echo.length();
    }

    @Override
    public boolean onToken(GeneratedToken token) {
        depths.add(TokenDepth.of(token));
        if (keepTokens) {
            tokens.add(token);
        }
        String out = stops.append(detokenizer.add(token.id()));
        if (!out.isEmpty() || stops.matched() || everyToken) {
            send(out);
        }
        return !stops.matched();
    }

    @Override
    public void onFinish(FinishReason reason, SequenceStats stats) {
        if (reason == FinishReason.ABORT) {
            writer.aborted(this);
            return;
        }
        if (!stops.matched()) {
            send(stops.finish(detokenizer.flush()));
        }
        writer.finished(this, reason.openAiName(), stats);
    }

    @Override
    public void onError(String message) {
        writer.failed(new OpenAiException(500, "server_error", "internal_error", null, message));
    }

    @Override
    public void onStopped(String message) {
        writer.failed(new OpenAiException(503, "service_unavailable", "model_stopped", null,
                "The request did not finish: " + message + "."));
    }

    /** The text so far with the layers and tokens not yet sent; pieces with nothing in them are skipped. */
    private void send(String piece) {
        text.append(piece);
        if (piece.isEmpty() && sentLayers == depths.size()) {
            return;
        }
        writer.delta(this, piece, depths.subList(sentLayers, depths.size()),
                tokens.subList(sentTokens, tokens.size()), null);
        sentLayers = depths.size();
        sentTokens = tokens.size();
    }

    ChoiceResult result(String finishReason) {
        return new ChoiceResult(index, text.toString(), finishReason, List.copyOf(depths), List.copyOf(tokens), textOffset);
    }

    /** Text sent before any token: an echoed prompt. */
    String echo() {
        return echo;
    }
}
