package io.flexiserve.admin;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import io.flexiserve.finetune.HyperparameterChoices;
import java.util.List;
import java.util.Map;

/** The body of {@code POST /admin/v1/fine_tuning/jobs}, OpenAI's fields (hyperparameters carry FlexiDepth's too). */
public record JobCreateRequest(
        @JsonProperty("model") String model,
        @JsonProperty("training_file") String trainingFile,
        @JsonProperty("validation_file") String validationFile,
        @JsonProperty("hyperparameters") HyperparameterChoices hyperparameters,
        @JsonProperty("method") Method method,
        @JsonProperty("seed") Long seed,
        @JsonProperty("suffix") String suffix,
        @JsonProperty("metadata") Map<String, String> metadata,
        @JsonProperty("integrations") List<JsonNode> integrations) {

    /** OpenAI's {@code method}; FlexiDepth training is {@code supervised} (next-token loss plus the skip penalty). */
    public record Method(@JsonProperty("type") String type, @JsonProperty("supervised") Supervised supervised,
                         @JsonProperty("dpo") JsonNode dpo, @JsonProperty("reinforcement") JsonNode reinforcement) {
    }

    /** {@code method.supervised}. */
    public record Supervised(@JsonProperty("hyperparameters") HyperparameterChoices hyperparameters) {
    }
}
