package io.flexiserve.structured;

import com.fasterxml.jackson.databind.JsonNode;

/** A function a model may call: its name and the JSON Schema of its arguments (null: it takes none). */
public record ToolFunction(String name, JsonNode parameters) {
}
