package io.flexiserve.api;

/** What every chunk or body of one response repeats: its id, creation time and model id. */
record ResponseMeta(String id, long created, String model) {
}
