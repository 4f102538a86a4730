package io.flexiserve.api;

import io.flexiserve.engine.GeneratedToken;
import java.util.List;

/** Chat or text completion: how choices, chunks and usage are shaped into JSON bodies. */
interface ResponseShape {

    /** The request field that holds the prompt: {@code messages} for chat, {@code prompt} for text. */
    String promptField();

    /** The chunk opening a choice's stream, or null when the shape has none (chat sends the assistant role). */
    Object opening(ResponseMeta meta, int index);

    /**
     * A streamed piece of a choice: text, the layers and logprobs of its tokens, and a finish reason at the end; null
     * when the piece adds nothing a client would see (the whitespace and brackets around tool calls).
     */
    Object chunk(ResponseMeta meta, int index, String text, List<TokenDepth> depths, List<GeneratedToken> tokens,
                 String finishReason);

    /** The last chunk of a stream with include_usage: no choices, only usage. */
    Object usageChunk(ResponseMeta meta, ResponseBodies.Usage usage);

    /** The whole non-streamed body. */
    Object complete(ResponseMeta meta, List<ChoiceResult> choices, ResponseBodies.Usage usage);
}
