package io.flexiserve.api;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flexiserve.structured.ToolFormat;
import org.junit.jupiter.api.Test;

/** How many calls a reply may hold. */
class ToolSpecTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static ToolSpec spec(String choice, String parallel) throws Exception {
        JsonNode tools = JSON.readTree("[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},"
                + "{\"type\":\"function\",\"function\":{\"name\":\"g\"}}]");
        return ToolSpec.parse(tools, choice == null ? null : JSON.readTree(choice),
                parallel == null ? null : JSON.readTree(parallel), ToolFormat.ARRAY);
    }

    @Test
    void aNamedFunctionIsCalledOnceWhateverParallelToolCallsSays() throws Exception {
        assertFalse(spec("{\"type\":\"function\",\"function\":{\"name\":\"f\"}}", null).severalCalls());
        assertFalse(spec("{\"type\":\"function\",\"function\":{\"name\":\"f\"}}", "true").severalCalls());
        assertTrue(spec("\"required\"", null).severalCalls(), "parallel_tool_calls defaults to true");
        assertTrue(spec("\"auto\"", null).severalCalls());
        assertFalse(spec("\"required\"", "false").severalCalls());
    }
}
