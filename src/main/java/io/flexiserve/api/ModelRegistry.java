package io.flexiserve.api;

import java.util.List;
import java.util.Optional;

/** The served model ids. */
public interface ModelRegistry {

    /** Whether the models are loaded and warmed up; requests before that get 503. */
    boolean ready();

    List<ModelEndpoint> all();

    Optional<ModelEndpoint> find(String name);
}
