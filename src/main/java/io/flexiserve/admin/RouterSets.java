package io.flexiserve.admin;

import java.nio.file.Path;
import java.util.List;

/** Served models that are a base model's weights with a fine-tuned router set (implemented by the wiring). */
public interface RouterSets {

    /** One such model. */
    record Served(String id, String base, List<Integer> routedLayers, long created) {
    }

    List<Served> list();

    /**
     * Serves the router set in {@code dir} (a job's output or checkpoint) as {@code id} on the weights of the base
     * model under {@code model}: {@code model} itself, or the base of the router set served as {@code model} (a
     * job that continued training a fine-tuned model).
     *
     * @throws IllegalArgumentException when the id is taken, no such base is served, or the set does not fit it
     */
    Served serve(String id, String model, Path dir);

    /** Stops serving {@code id}; false when it is not a served router set. */
    boolean remove(String id);
}
