package io.flexiserve.api;

import java.util.List;
import java.util.Optional;

/** The served model ids. */
public interface ModelRegistry {

    /** Whether the models are loaded and warmed up; requests before that get 503. */
    boolean ready();

    /** Whether the service is shutting down: requests get 503 while the running ones finish. */
    boolean draining();

    List<ModelEndpoint> all();

    Optional<ModelEndpoint> find(String name);
}
