package io.flexiserve.engine;

/**
 * What one finished sequence cost.
 *
 * @param promptTokens     prompt length
 * @param generatedTokens  tokens generated (including a stop string's last token, excluding a stop id)
 * @param decodeLayers     sum over generated tokens of the layers used by the row that produced each
 * @param queueSeconds     from submission to first scheduled
 * @param firstTokenSeconds from submission to the first token
 * @param totalSeconds     from submission to the end
 * @param cachedPromptTokens prompt tokens whose keys and values came from the prefix cache (at the last admission)
 */
public record SequenceStats(int promptTokens, int generatedTokens, long decodeLayers, double queueSeconds,
                            double firstTokenSeconds, double totalSeconds, int cachedPromptTokens) {

    public SequenceStats(int promptTokens, int generatedTokens, long decodeLayers, double queueSeconds,
                         double firstTokenSeconds, double totalSeconds) {
        this(promptTokens, generatedTokens, decodeLayers, queueSeconds, firstTokenSeconds, totalSeconds, 0);
    }
}
