package io.flexiserve.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Templates with a tool format get the tools and earlier calls; Llama 3 Instruct's has none. */
class ChatTemplateToolsTest {

    /** The tool parts of Llama 3.1's template, reduced: the tools as JSON, a call's name and arguments. */
    static final String WITH_TOOLS = "{% if tools is defined %}Tools:{% for t in tools %} {{ t.function.name }}{% endfor %}\n"
            + "{% endif %}{% for m in messages %}<{{ m.role }}>{% if m.tool_calls %}{% for c in m.tool_calls %}"
            + "{\"name\": \"{{ c.function.name }}\", \"parameters\": {{ c.function.arguments.city }}}{% endfor %}"
            + "{% else %}{{ m.content }}{% endif %}{% if m.tool_call_id %}({{ m.tool_call_id }}){% endif %}\n{% endfor %}";

    @Test
    void aTemplateWithAToolFormatRendersToolsCallsAndResults() {
        ChatTemplate template = new ChatTemplate(WITH_TOOLS, "", "");
        assertTrue(template.rendersTools());
        Map<String, Object> call = Map.of("id", "call_1", "type", "function",
                "function", Map.of("name", "get_weather", "arguments", Map.of("city", "Oslo")));
        String text = template.render(List.of(new ChatMessage("user", "Weather?"),
                        new ChatMessage("assistant", null, List.of(call), null),
                        new ChatMessage("tool", "sunny", null, "call_1")), true,
                List.of(Map.of("type", "function", "function", Map.of("name", "get_weather"))));
        assertTrue(text.startsWith("Tools: get_weather<user>Weather?"), text);
        assertTrue(text.contains("<assistant>{\"name\": \"get_weather\", \"parameters\": Oslo}"), text);
        assertTrue(text.contains("<tool>sunny(call_1)"), text);
    }

    /** Llama 3.1's template writes tools and arguments with tojson, and tool results through "is iterable". */
    @Test
    void tojsonAndIterableAreJinja2s() {
        Map<String, Object> parameters = new java.util.LinkedHashMap<>();
        parameters.put("type", "object");
        parameters.put("required", List.of());
        Map<String, Object> function = new java.util.LinkedHashMap<>();
        function.put("name", "f");
        function.put("parameters", parameters);
        Map<String, Object> tool = new java.util.LinkedHashMap<>();
        tool.put("type", "function");
        tool.put("function", function);
        String template = "{{ tools[0] | tojson(indent=4) }}|{% for m in messages %}{% if m.content is iterable %}"
                + "{{ m.content | tojson }}{% endif %}{% endfor %}";
        String text = new ChatTemplate(template, "", "").render(List.of(new ChatMessage("tool", "sunny \"d\"\u00e9\n\u001b", null,
                "call_1")), false, List.of(tool));
        assertEquals("{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"f\",\n"
                + "        \"parameters\": {\n            \"type\": \"object\",\n            \"required\": []\n"
                + "        }\n    }\n}|\"sunny \\\"d\\\"\u00e9\\n\\u001b\"", text, "json.dumps(indent=4), and a string result quoted");
        Map<String, Object> arguments = new java.util.LinkedHashMap<>();
        arguments.put("city", "Oslo");
        arguments.put("days", 3);
        arguments.put("ratio", 1.5);
        arguments.put("big", 1e16);
        arguments.put("small", 0.00001);
        arguments.put("flags", List.of(true, false));
        arguments.put("none", null);
        assertEquals("{\"city\": \"Oslo\", \"days\": 3, \"ratio\": 1.5, \"big\": 1e+16, \"small\": 1e-05, "
                + "\"flags\": [true, false], \"none\": null}", JinjaCompat.dumps(arguments, -1));
    }

    /** What a user writes is printed as written, as Jinja2 prints it: never read as a template a second time. */
    @Test
    void templateSyntaxInAMessageIsPlainText() {
        ChatTemplate template = new ChatTemplate(ByteLevelTokenizerFiles.LLAMA3_CHAT_TEMPLATE, "<|begin_of_text|>", "");
        String content = "Explain <p>{{ name }}</p>, {{ bos_token }}, {{.Name}} and {% for i in range(3) %}x{% endfor %}";
        String text = template.render(List.of(new ChatMessage("user", content)), true);
        assertTrue(text.contains("\n\n" + content + "<|eot_id|>"), text);
    }

    @Test
    void llama3InstructsTemplateHasNoToolFormat() {
        assertFalse(ChatTemplate.load(Fixtures.llama3Tokenizer()).rendersTools());
        assertFalse(new ChatTemplate(ByteLevelTokenizerFiles.LLAMA3_CHAT_TEMPLATE, "", "").rendersTools());
    }

    /** A template that insists on a system message first still shows whether it renders tools; one refusing all, none. */
    @Test
    void theToolsProbeSurvivesTemplatesThatRefuseItsConversation() {
        ChatTemplate systemFirst = new ChatTemplate("{% if messages[0].role != 'system' %}{{ raise_exception('system "
                + "first') }}{% endif %}" + WITH_TOOLS, "", "");
        assertTrue(systemFirst.rendersTools());
        ChatTemplate refusesAll = new ChatTemplate("{{ raise_exception('never') }}", "", "");
        assertFalse(refusesAll.rendersTools(), "no answer is no tool format, not an error on every chat request");
    }

    /** A base model's checkpoint has no template: it loads for serving (completions), and a chat says why it cannot. */
    @Test
    void aCheckpointWithoutATemplateServesButRefusesChat(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<|begin_of_text|>\"}");
        ChatTemplate none = ChatTemplate.loadForServing(dir);
        assertFalse(none.rendersTools());
        assertFalse(none.mentions("<|eot_id|>"));
        TokenizerException refused = org.junit.jupiter.api.Assertions.assertThrows(TokenizerException.class,
                () -> none.render(List.of(new ChatMessage("user", "Hi")), true));
        assertTrue(refused.getMessage().contains("no chat template"), refused.getMessage());
        org.junit.jupiter.api.Assertions.assertThrows(TokenizerException.class, () -> ChatTemplate.load(dir),
                "fine-tuning, which renders conversations, still needs one");
    }

    /** A list-form chat_template (Hermes 2 Pro's): its "tool_use" entry renders a request with tools, "default" others. */
    @Test
    void aListFormTemplatesToolUseEntryRendersRequestsWithTools(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": ["
                + "{\"name\": \"default\", \"template\": \"plain:{{ messages[0].content }}\"},"
                + "{\"name\": \"tool_use\", \"template\": \"tools:{% for t in tools %}{{ t.function.name }}{% endfor %}"
                + ":{{ messages[0].content }}\"}]}");
        ChatTemplate template = ChatTemplate.loadForServing(dir);
        List<ChatMessage> hi = List.of(new ChatMessage("user", "Hi"));
        assertEquals("plain:Hi", template.render(hi, true));
        assertEquals("tools:get_weather:Hi", template.render(hi, true,
                List.of(Map.of("type", "function", "function", Map.of("name", "get_weather")))));
        assertTrue(template.rendersTools());
    }
}
