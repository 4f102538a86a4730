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
     * Serves the router set in {@code dir} (a job's output or checkpoint) on {@code base}'s weights as {@code id}.
     *
     * @throws IllegalArgumentException when the id is taken or the set does not fit the base
     */
    Served serve(String id, String base, Path dir);

    /** Stops serving {@code id}; false when it is not a served router set. */
    boolean remove(String id);
}
