package io.flexiserve.structured;

/**
 * How a reply writes tool calls. The grammar enforces it, and the reply's text is read back into OpenAI's
 * {@code tool_calls} by it.
 */
public enum ToolFormat {

    /**
     * FlexiServe's own, described to the model in a system message when its chat template has no tool format
     * (Llama 3 Instruct's): a JSON array of calls, {@code [{"name": ..., "arguments": {...}}, ...]}.
     */
    ARRAY('[', "arguments"),

    /**
     * The format a chat template with tools asks for (Llama 3.1, 3.2 and 3.3's, and the one they show earlier calls
     * in): one call as a JSON object, {@code {"name": ..., "parameters": {...}}}; these templates refuse a turn of
     * several calls, so a reply holds one.
     */
    TEMPLATE_JSON('{', "parameters");

    private final char opener;
    private final String argumentsKey;

    ToolFormat(char opener, String argumentsKey) {
        this.opener = opener;
        this.argumentsKey = argumentsKey;
    }

    /** The character a reply of calls opens with (after blanks); under {@code tool_choice: auto} no answer does. */
    public char opener() {
        return opener;
    }

    /** The key of a call's arguments object. */
    public String argumentsKey() {
        return argumentsKey;
    }
}
