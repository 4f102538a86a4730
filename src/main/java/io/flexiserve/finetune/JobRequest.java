package io.flexiserve.finetune;

import java.util.Map;

/** A validated request to create a job (the HTTP layer parses OpenAI's body into this). */
public record JobRequest(String model, String trainingFile, String suffix, Hyperparameters hyperparameters,
                         Map<String, String> metadata) {
}
