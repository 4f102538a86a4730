package io.flexiserve.api;

import io.flexiserve.api.ResponseBodies.ChoiceLayers;
import io.flexiserve.api.ResponseBodies.TextChoice;
import io.flexiserve.api.ResponseBodies.TextCompletion;
import io.flexiserve.api.ResponseBodies.TextLogprobs;
import io.flexiserve.engine.GeneratedToken;
import io.flexiserve.engine.TokenLogprob;
import io.flexiserve.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code text_completion} bodies, streamed or whole, with the legacy parallel-list logprobs. */
final class TextShape implements ResponseShape {

    private final TokenStrings strings;
    private final boolean logprobs;
    private final boolean returnLayers;
    /** By streamed choice: the characters of its tokens' texts so far, where its next token's text_offset starts. */
    private final Map<Integer, Integer> streamedChars = new HashMap<>();

    TextShape(Tokenizer tokenizer, boolean logprobs, boolean returnLayers) {
        this.strings = new TokenStrings(tokenizer);
        this.logprobs = logprobs;
        this.returnLayers = returnLayers;
    }

    @Override
    public String promptField() {
        return "prompt";
    }

    @Override
    public Object opening(ResponseMeta meta, int index) {
        return null;
    }

    @Override
    public Object chunk(ResponseMeta meta, int index, String text, List<TokenDepth> depths, List<GeneratedToken> tokens,
                        String finishReason) {
        int start = streamedChars.getOrDefault(index, 0); // no echo here: echo with logprobs is refused
        TextLogprobs lp = logprobs(tokens, start);
        if (lp != null && !tokens.isEmpty()) {
            int last = tokens.size() - 1;
            streamedChars.put(index, lp.textOffset().get(last) + lp.tokens().get(last).length());
        }
        TextChoice choice = new TextChoice(index, text, lp, finishReason, layers(depths));
        return new TextCompletion(meta.id(), "text_completion", meta.created(), meta.model(), List.of(choice), null);
    }

    @Override
    public Object usageChunk(ResponseMeta meta, ResponseBodies.Usage usage) {
        return new TextCompletion(meta.id(), "text_completion", meta.created(), meta.model(), List.of(), usage);
    }

    @Override
    public Object complete(ResponseMeta meta, List<ChoiceResult> choices, ResponseBodies.Usage usage) {
        List<TextChoice> out = choices.stream().map(c -> new TextChoice(c.index(), c.text(),
                logprobs(c.tokens(), c.textOffset()), c.finishReason(),
                layers(c.depths()))).toList();
        return new TextCompletion(meta.id(), "text_completion", meta.created(), meta.model(), out, usage);
    }

    private ChoiceLayers layers(List<TokenDepth> depths) {
        return returnLayers ? ChoiceLayers.of(depths) : null;
    }

    /** Parallel lists; text offsets count characters from {@code start} (after an echoed prompt). */
    private TextLogprobs logprobs(List<GeneratedToken> tokens, int start) {
        if (!logprobs) {
            return null;
        }
        List<String> texts = new ArrayList<>();
        List<Float> lps = new ArrayList<>();
        List<Map<String, Float>> tops = new ArrayList<>();
        List<Integer> offsets = new ArrayList<>();
        int offset = start;
        for (GeneratedToken t : tokens) {
            String text = strings.text(t.id());
            texts.add(text);
            lps.add(t.logprob());
            Map<String, Float> top = new LinkedHashMap<>();
            for (TokenLogprob alt : t.topLogprobs()) {
                top.putIfAbsent(strings.text(alt.id()), alt.logprob());
            }
            tops.add(top);
            offsets.add(offset);
            offset += text.length();
        }
        return new TextLogprobs(texts, lps, tops, offsets);
    }
}
