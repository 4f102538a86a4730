package io.flexiserve.finetune;

import java.util.Map;

/**
 * One entry of a job's event log (OpenAI's {@code fine_tuning.job.event}).
 *
 * @param type  {@code message} or {@code metrics}
 * @param level {@code info}, {@code warn} or {@code error}
 * @param data  the step metrics of a {@code metrics} event, else empty
 */
public record JobEvent(String id, long createdAt, String level, String message, String type, Map<String, Object> data) {

    public JobEvent {
        data = data == null ? Map.of() : Map.copyOf(data);
    }
}
