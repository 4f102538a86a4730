package io.flexiserve.api;

import io.flexiserve.api.ResponseBodies.ChatChoice;
import io.flexiserve.api.ResponseBodies.ChatCompletion;
import io.flexiserve.api.ResponseBodies.ChatCompletionChunk;
import io.flexiserve.api.ResponseBodies.ChatLogprobs;
import io.flexiserve.api.ResponseBodies.ChatMessageOut;
import io.flexiserve.api.ResponseBodies.ChoiceLayers;
import io.flexiserve.api.ResponseBodies.ChunkChoice;
import io.flexiserve.api.ResponseBodies.Delta;
import io.flexiserve.api.ResponseBodies.TokenLogprobOut;
import io.flexiserve.api.ResponseBodies.TopLogprobOut;
import io.flexiserve.engine.GeneratedToken;
import io.flexiserve.engine.TokenLogprob;
import io.flexiserve.tokenizer.Tokenizer;
import java.util.List;

/** {@code chat.completion} and {@code chat.completion.chunk} bodies. */
final class ChatShape implements ResponseShape {

    private final TokenStrings strings;
    private final boolean logprobs;
    private final boolean returnLayers;

    ChatShape(Tokenizer tokenizer, boolean logprobs, boolean returnLayers) {
        this.strings = new TokenStrings(tokenizer);
        this.logprobs = logprobs;
        this.returnLayers = returnLayers;
    }

    @Override
    public Object opening(ResponseMeta meta, int index) {
        return chunk(meta, new ChunkChoice(index, new Delta("assistant", ""), null, null, null));
    }

    @Override
    public Object chunk(ResponseMeta meta, int index, String text, List<TokenDepth> depths, List<GeneratedToken> tokens,
                        String finishReason) {
        Delta delta = text.isEmpty() && finishReason != null ? new Delta(null, null) : new Delta(null, text);
        return chunk(meta, new ChunkChoice(index, delta, logprobs(tokens), finishReason, layers(depths)));
    }

    @Override
    public Object usageChunk(ResponseMeta meta, ResponseBodies.Usage usage) {
        return new ChatCompletionChunk(meta.id(), "chat.completion.chunk", meta.created(), meta.model(), List.of(), usage);
    }

    @Override
    public Object complete(ResponseMeta meta, List<ChoiceResult> choices, ResponseBodies.Usage usage) {
        List<ChatChoice> out = choices.stream().map(c -> new ChatChoice(c.index(), new ChatMessageOut("assistant", c.text()),
                logprobs(c.tokens()), c.finishReason(), layers(c.depths()))).toList();
        return new ChatCompletion(meta.id(), "chat.completion", meta.created(), meta.model(), out, usage);
    }

    private static ChatCompletionChunk chunk(ResponseMeta meta, ChunkChoice choice) {
        return new ChatCompletionChunk(meta.id(), "chat.completion.chunk", meta.created(), meta.model(), List.of(choice), null);
    }

    private ChoiceLayers layers(List<TokenDepth> depths) {
        return returnLayers ? ChoiceLayers.of(depths) : null;
    }

    private ChatLogprobs logprobs(List<GeneratedToken> tokens) {
        if (!logprobs) {
            return null;
        }
        return new ChatLogprobs(tokens.stream().map(t -> new TokenLogprobOut(strings.text(t.id()), t.logprob(), strings.bytes(t.id()),
                t.topLogprobs().stream().map(this::top).toList())).toList());
    }

    private TopLogprobOut top(TokenLogprob t) {
        return new TopLogprobOut(strings.text(t.id()), t.logprob(), strings.bytes(t.id()));
    }
}
