package io.flexiserve.api;

import io.flexiserve.api.ResponseBodies.ChatChoice;
import io.flexiserve.api.ResponseBodies.ChatCompletion;
import io.flexiserve.api.ResponseBodies.ChatCompletionChunk;
import io.flexiserve.api.ResponseBodies.ChatLogprobs;
import io.flexiserve.api.ResponseBodies.ChatMessageOut;
import io.flexiserve.api.ResponseBodies.ChoiceLayers;
import io.flexiserve.api.ResponseBodies.ChunkChoice;
import io.flexiserve.api.ResponseBodies.Delta;
import io.flexiserve.api.ResponseBodies.FunctionCallOut;
import io.flexiserve.api.ResponseBodies.FunctionDelta;
import io.flexiserve.api.ResponseBodies.ToolCallDelta;
import io.flexiserve.api.ResponseBodies.ToolCallOut;
import io.flexiserve.api.ResponseBodies.TokenLogprobOut;
import io.flexiserve.api.ResponseBodies.TopLogprobOut;
import io.flexiserve.engine.GeneratedToken;
import io.flexiserve.engine.TokenLogprob;
import io.flexiserve.tokenizer.Tokenizer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** {@code chat.completion} and {@code chat.completion.chunk} bodies. */
final class ChatShape implements ResponseShape {

    private final TokenStrings strings;
    private final boolean logprobs;
    private final boolean returnLayers;
    private final ToolSpec tools;
    private final Map<Integer, ToolCallScanner> scanners = new HashMap<>();

    /** @param tools the request's tools when its replies may be calls (tool choice not {@code none}), else null */
    ChatShape(Tokenizer tokenizer, boolean logprobs, boolean returnLayers, ToolSpec tools) {
        this.strings = new TokenStrings(tokenizer);
        this.logprobs = logprobs;
        this.returnLayers = returnLayers;
        this.tools = tools;
    }

    @Override
    public String promptField() {
        return "messages";
    }

    @Override
    public Object opening(ResponseMeta meta, int index) {
        return chunk(meta, new ChunkChoice(index, new Delta("assistant", ""), null, null, null));
    }

    @Override
    public Object chunk(ResponseMeta meta, int index, String text, List<TokenDepth> depths, List<GeneratedToken> tokens,
                        String finishReason) {
        Delta delta;
        if (tools == null) {
            delta = text.isEmpty() && finishReason != null ? new Delta(null, null) : new Delta(null, text);
        } else {
            ToolCallScanner scanner = scanners.computeIfAbsent(index, i -> scanner());
            ToolCallScanner.Piece piece = scanner.feed(text);
            List<ToolCallDelta> calls = piece.fragments().stream().map(ChatShape::delta).toList();
            delta = new Delta(null, piece.content().isEmpty() ? null : piece.content(), calls.isEmpty() ? null : calls);
            finishReason = finish(finishReason, scanner);
            if (delta.content() == null && calls.isEmpty() && finishReason == null && (!logprobs || tokens.isEmpty())
                    && (!returnLayers || depths.isEmpty())) {
                return null;
            }
        }
        return chunk(meta, new ChunkChoice(index, delta, logprobs(tokens), finishReason, layers(depths)));
    }

    private ToolCallScanner scanner() {
        return new ToolCallScanner(!tools.forced(), tools.format());
    }

    private static ToolCallDelta delta(ToolCallScanner.Fragment f) {
        return f.id() != null ? new ToolCallDelta(f.index(), f.id(), "function", new FunctionDelta(f.name(), f.arguments()))
                : new ToolCallDelta(f.index(), null, null, new FunctionDelta(null, f.arguments()));
    }

    /** A reply of calls that ended by itself ends as {@code tool_calls}. */
    private static String finish(String reason, ToolCallScanner scanner) {
        return "stop".equals(reason) && scanner.isCalls() ? "tool_calls" : reason;
    }

    private ChatChoice choice(ChoiceResult c) {
        if (tools == null) {
            return new ChatChoice(c.index(), new ChatMessageOut("assistant", c.text(), null), logprobs(c.tokens()),
                    c.finishReason(), layers(c.depths()));
        }
        ToolCallScanner scanner = scanner();
        ToolCallScanner.Piece piece = scanner.feed(c.text());
        // a call cut short (max_tokens) before its name was complete is no call, as a stream never sent it either:
        // a reply of calls with none left has neither content nor tool_calls, and finishes as "length"
        List<ToolCallOut> calls = scanner.calls().stream().filter(call -> call.name != null)
                .map(call -> new ToolCallOut(call.id, "function", new FunctionCallOut(call.name, call.arguments.toString())))
                .toList();
        ChatMessageOut message = !scanner.isCalls() ? new ChatMessageOut("assistant", piece.content(), null)
                : new ChatMessageOut("assistant", null, calls.isEmpty() ? null : calls);
        return new ChatChoice(c.index(), message, logprobs(c.tokens()), finish(c.finishReason(), scanner), layers(c.depths()));
    }

    @Override
    public Object usageChunk(ResponseMeta meta, ResponseBodies.Usage usage) {
        return new ChatCompletionChunk(meta.id(), "chat.completion.chunk", meta.created(), meta.model(), List.of(), usage);
    }

    @Override
    public Object complete(ResponseMeta meta, List<ChoiceResult> choices, ResponseBodies.Usage usage) {
        List<ChatChoice> out = choices.stream().map(this::choice).toList();
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
