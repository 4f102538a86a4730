package io.flexiserve.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.flexiserve.engine.SamplingParams;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Checks the shared sampling fields against OpenAI's documented ranges and turns them into {@link RequestSettings}. */
final class SamplingValidator {

    static final double DEFAULT_THRESHOLD = 0.5;

    private SamplingValidator() {
    }

    static RequestSettings validate(SamplingFields r, Integer maxTokens, String maxTokensField, int topLogprobs, int vocabSize,
                                    double defaultTemperature, double defaultTopP, RequestLimits limits) {
        double temperature = range("temperature", r.temperature(), 0, 2, defaultTemperature);
        double topP = r.topP() == null ? defaultTopP : r.topP();
        if (topP <= 0 || topP > 1 || Double.isNaN(topP)) {
            throw OpenAiException.invalid("top_p", "top_p must be in (0, 1], got " + topP);
        }
        int topK = r.topK() == null ? 0 : r.topK();
        if (topK < -1) {
            throw OpenAiException.invalid("top_k", "top_k must be -1 or 0 (disabled) or positive, got " + topK);
        }
        double minP = range("min_p", r.minP(), 0, 1, 0);
        int n = r.n() == null ? 1 : r.n();
        if (n < 1 || n > limits.maxN()) {
            throw OpenAiException.invalid("n", "n must be between 1 and " + limits.maxN() + ", got " + n);
        }
        if (maxTokens != null && (maxTokens < 1 || limits.maxTokens() > 0 && maxTokens > limits.maxTokens())) {
            throw OpenAiException.invalid(maxTokensField, maxTokensField + " must be between 1 and "
                    + (limits.maxTokens() > 0 ? limits.maxTokens() : "the context limit") + ", got " + maxTokens);
        }
        double presence = range("presence_penalty", r.presencePenalty(), -2, 2, 0);
        double frequency = range("frequency_penalty", r.frequencyPenalty(), -2, 2, 0);
        double repetition = r.repetitionPenalty() == null ? 1 : r.repetitionPenalty();
        if (repetition <= 0 || repetition > 2 || Double.isNaN(repetition)) {
            throw OpenAiException.invalid("repetition_penalty", "repetition_penalty must be in (0, 2], got " + repetition);
        }
        boolean stream = Boolean.TRUE.equals(r.stream());
        if (r.streamOptions() != null && !stream) {
            throw OpenAiException.invalid("stream_options", "stream_options is only allowed when stream is true");
        }
        boolean includeUsage = stream && r.streamOptions() != null && Boolean.TRUE.equals(r.streamOptions().includeUsage());
        double threshold = r.flexidepth() == null ? DEFAULT_THRESHOLD
                : range("flexidepth.threshold", r.flexidepth().threshold(), 0, 1, DEFAULT_THRESHOLD);
        boolean returnLayers = r.flexidepth() != null && Boolean.TRUE.equals(r.flexidepth().returnLayers());
        SamplingParams sampling = new SamplingParams(temperature, topP, Math.max(topK, 0), minP, presence, frequency,
                repetition, logitBias(r.logitBias(), vocabSize, limits.maxLogitBias()), null);
        return new RequestSettings(sampling, r.seed(), maxTokens, stop(r.stop(), limits), n, stream, includeUsage, topLogprobs,
                (float) threshold, returnLayers, Boolean.TRUE.equals(r.ignoreEos()));
    }

    private static double range(String param, Double value, double min, double max, double fallback) {
        double v = value == null ? fallback : value;
        if (!(v >= min && v <= max)) {
            throw OpenAiException.invalid(param, param + " must be between " + min + " and " + max + ", got " + v);
        }
        return v;
    }

    private static Map<Integer, Float> logitBias(Map<String, Double> bias, int vocabSize, int maxEntries) {
        if (bias == null) {
            return Map.of();
        }
        if (bias.size() > maxEntries) {
            throw OpenAiException.invalid("logit_bias", "logit_bias may hold at most " + maxEntries + " entries");
        }
        Map<Integer, Float> out = new HashMap<>();
        for (Map.Entry<String, Double> e : bias.entrySet()) {
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw OpenAiException.invalid("logit_bias", "logit_bias keys must be token ids, got '" + e.getKey() + "'");
            }
            if (id < 0 || id >= vocabSize) {
                throw OpenAiException.invalid("logit_bias", "token id " + id + " in logit_bias is outside the vocabulary of " + vocabSize);
            }
            if (e.getValue() == null || !(e.getValue() >= -100 && e.getValue() <= 100)) {
                throw OpenAiException.invalid("logit_bias", "logit_bias values must be between -100 and 100, got " + e.getValue());
            }
            out.put(id, e.getValue().floatValue());
        }
        return out;
    }

    private static List<String> stop(JsonNode stop, RequestLimits limits) {
        if (stop == null || stop.isNull()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (stop.isTextual()) {
            out.add(stop.asText());
        } else if (stop.isArray()) {
            for (JsonNode s : stop) {
                if (!s.isTextual()) {
                    throw OpenAiException.invalid("stop", "stop must be a string or a list of strings");
                }
                out.add(s.asText());
            }
        } else {
            throw OpenAiException.invalid("stop", "stop must be a string or a list of strings");
        }
        if (out.size() > limits.maxStop()) {
            throw OpenAiException.invalid("stop", "stop may hold at most " + limits.maxStop() + " sequences, got " + out.size());
        }
        for (String s : out) {
            if (s.isEmpty() || s.length() > limits.maxStopLength()) {
                throw OpenAiException.invalid("stop", "each stop sequence must have 1 to " + limits.maxStopLength() + " characters");
            }
        }
        return out;
    }
}
