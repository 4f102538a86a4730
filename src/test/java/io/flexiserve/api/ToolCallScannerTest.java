package io.flexiserve.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flexiserve.structured.ToolFormat;
import org.junit.jupiter.api.Test;

/** A reply's text, fed in pieces, read back into calls: the arguments exactly as written, whatever the pieces. */
class ToolCallScannerTest {

    private static final String TEMPLATE_CALL = " {\"name\": \"get_weather\", \"parameters\": {\"city\": \"O\\\"slo\", \"d\": [1, {}]}}";

    @Test
    void aTemplatesCallIsReadFromItsParametersInAnyPieces() {
        for (int size = 1; size <= TEMPLATE_CALL.length(); size++) {
            ToolCallScanner scanner = new ToolCallScanner(true, ToolFormat.TEMPLATE_JSON);
            StringBuilder content = new StringBuilder();
            for (int i = 0; i < TEMPLATE_CALL.length(); i += size) {
                content.append(scanner.feed(TEMPLATE_CALL.substring(i, Math.min(TEMPLATE_CALL.length(), i + size))).content());
            }
            assertTrue(scanner.isCalls(), "pieces of " + size);
            assertEquals("", content.toString());
            assertEquals(1, scanner.calls().size());
            assertEquals("get_weather", scanner.calls().get(0).name);
            assertEquals("{\"city\": \"O\\\"slo\", \"d\": [1, {}]}", scanner.calls().get(0).arguments.toString(),
                    "pieces of " + size);
        }
    }

    @Test
    void anAnswerOpensWithAnythingButTheFormatsOpener() {
        ToolCallScanner template = new ToolCallScanner(true, ToolFormat.TEMPLATE_JSON);
        assertEquals(" [1, 2]", template.feed(" [1, 2]").content());
        assertFalse(template.isCalls());
        ToolCallScanner array = new ToolCallScanner(true, ToolFormat.ARRAY);
        assertEquals("{\"a\": 1}", array.feed("{\"a\": 1}").content());
        assertFalse(array.isCalls());
    }

    @Test
    void flexiServesArrayHoldsSeveralCalls() {
        ToolCallScanner scanner = new ToolCallScanner(false, ToolFormat.ARRAY);
        scanner.feed("[{\"name\": \"a\", \"arguments\": {\"x\": 1}}, {\"name\": \"b\", \"arguments\": {}}]");
        assertEquals(2, scanner.calls().size());
        assertEquals("{\"x\": 1}", scanner.calls().get(0).arguments.toString());
        assertEquals("b", scanner.calls().get(1).name);
        assertEquals("{}", scanner.calls().get(1).arguments.toString());
    }
}
