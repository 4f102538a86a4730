package io.flexiserve.admin;

import io.flexiserve.api.ApiJson;
import io.flexiserve.api.OpenAiException;
import io.flexiserve.finetune.HyperparameterChoices;
import io.flexiserve.finetune.JobRequest;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;
import java.util.regex.Pattern;

/** Turns a job-creation body into a {@link JobRequest}, refusing what FlexiDepth training cannot honour. */
@ApplicationScoped
public class JobRequests {

    private static final Pattern SUFFIX = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final long DEFAULT_SEED = 42; // the recipe's seed

    private final ApiJson json;

    public JobRequests(ApiJson json) {
        this.json = json;
    }

    JobRequest parse(String body) {
        JobCreateRequest r = json.read(body, JobCreateRequest.class);
        require(r.model(), "model");
        require(r.trainingFile(), "training_file");
        if (r.validationFile() != null) {
            throw OpenAiException.invalid("validation_file", "validation_file is not supported; training reports its "
                    + "loss and layer use per step in the job's events and metrics");
        }
        if (r.integrations() != null && !r.integrations().isEmpty()) {
            throw OpenAiException.invalid("integrations", "integrations are not supported");
        }
        if (r.suffix() != null && !SUFFIX.matcher(r.suffix()).matches()) {
            throw OpenAiException.invalid("suffix", "suffix must be 1 to 64 letters, digits, '-' or '_'");
        }
        return new JobRequest(r.model(), r.trainingFile(), r.suffix(), hyperparameters(r).resolve(
                r.seed() == null ? DEFAULT_SEED : r.seed()), r.metadata() == null ? Map.of() : r.metadata());
    }

    private static HyperparameterChoices hyperparameters(JobCreateRequest r) {
        if (r.method() == null) {
            return r.hyperparameters() == null ? HyperparameterChoices.NONE : r.hyperparameters();
        }
        JobCreateRequest.Method m = r.method();
        if (!"supervised".equals(m.type()) || m.dpo() != null || m.reinforcement() != null) {
            throw OpenAiException.invalid("method.type", "FlexiDepth router training is method type 'supervised', not '"
                    + m.type() + "'");
        }
        if (r.hyperparameters() != null) {
            throw OpenAiException.invalid("hyperparameters", "give hyperparameters either at the top level or in "
                    + "method.supervised, not both");
        }
        return m.supervised() == null || m.supervised().hyperparameters() == null ? HyperparameterChoices.NONE
                : m.supervised().hyperparameters();
    }

    private static void require(String value, String param) {
        if (value == null || value.isBlank()) {
            throw OpenAiException.invalid(param, "Missing required parameter: '" + param + "'.");
        }
    }
}
