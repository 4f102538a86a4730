package io.flexiserve.engine;

import java.util.List;

/**
 * One generated token as the engine hands it to the sequence's sink.
 *
 * @param id          the token id
 * @param index       0 for the first generated token
 * @param layersUsed  layers the forward row that produced it ran (the previous token's row; for the first,
 *                    the last prompt row)
 * @param routedRan   for each routed layer, in order, whether that row ran it (false: took the adapter)
 * @param logprob     its log probability, or NaN when logprobs were not asked for
 * @param topLogprobs the most likely alternatives, empty when not asked for
 */
public record GeneratedToken(int id, int index, int layersUsed, boolean[] routedRan, float logprob,
                             List<TokenLogprob> topLogprobs) {
}
