package io.flexiserve.api;

import io.flexiserve.engine.GeneratedToken;
import java.util.List;

/**
 * One finished choice.
 *
 * @param tokens     the generated tokens with their logprobs (empty unless logprobs were asked for)
 * @param textOffset where the generated text starts in {@code text} (after an echoed prompt)
 */
record ChoiceResult(int index, String text, String finishReason, List<TokenDepth> depths, List<GeneratedToken> tokens,
                    int textOffset) {
}
