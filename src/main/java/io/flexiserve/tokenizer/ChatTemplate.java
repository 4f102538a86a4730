package io.flexiserve.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.io.IOException;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The checkpoint's own {@code chat_template} (tokenizer_config.json) rendered with Jinjava, configured as
 * transformers configures Jinja2 for chat templates: {@code trim_blocks} and {@code lstrip_blocks} on,
 * {@code bos_token}/{@code eos_token} and {@code add_generation_prompt} in scope, the helper
 * functions {@code raise_exception} and {@code strftime_now}, and Jinja2's {@code tojson} and {@code iterable}
 * where Jinjava's differ ({@link JinjaCompat}). The tokenizer_config.json is read with
 * Jackson because DJL's reader overflows on Llama 3's {@code model_max_length} (docs/djl-traps.md, trap 9).
 */
public final class ChatTemplate {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String template; // null: the checkpoint has none (a base model), see missing
    private final String missing;  // why there is none, said by every render
    private final String toolUse;  // a list-form chat_template's "tool_use" entry, rendered when tools are given
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;
    private volatile Boolean rendersTools;

    public ChatTemplate(String template, String bosToken, String eosToken) {
        this(template, null, null, bosToken, eosToken);
    }

    private ChatTemplate(String template, String toolUse, String missing, String bosToken, String eosToken) {
        this.template = template;
        this.toolUse = toolUse;
        this.missing = missing;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        // Jinjava renders a value holding template syntax again unless told not to; Jinja2 never does, and the
        // values here are what users wrote
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                .withNestedInterpretationEnabled(false).build());
        jinjava.getGlobalContext().registerFilter(new JinjaCompat.ToJson());
        jinjava.getGlobalContext().registerExpTest(new JinjaCompat.IsIterable());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplate.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now",
                ChatTemplate.class, "strftimeNow", String.class));
    }

    /** Reads {@code chat_template}, {@code bos_token} and {@code eos_token} from {@code dir/tokenizer_config.json}. */
    public static ChatTemplate load(Path dir) {
        ChatTemplate loaded = loadForServing(dir);
        if (loaded.template == null) {
            throw new TokenizerException(loaded.missing);
        }
        return loaded;
    }

    /**
     * As {@link #load}, but a checkpoint without a {@code chat_template} (a base model) still loads: it serves
     * completions, and each render (a chat request) is refused saying why.
     */
    public static ChatTemplate loadForServing(Path dir) {
        Path file = dir.resolve("tokenizer_config.json");
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new TokenizerException(file + ": cannot read: " + e.getMessage(), e);
        }
        String template = templateText(root.path("chat_template"), "default");
        String missing = template != null ? null : "this model has no chat template (" + file + " has no chat_template):"
                + " it serves /v1/completions, not chat";
        return new ChatTemplate(template, template == null ? null : templateText(root.path("chat_template"), "tool_use"),
                missing, tokenText(root.path("bos_token")), tokenText(root.path("eos_token")));
    }

    /** The prompt text for the conversation; with {@code addGenerationPrompt} it ends where the assistant's reply starts. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, null);
    }

    /**
     * As {@link #render(List, boolean)}, with {@code tools} (OpenAI's {@code tools} list) given to the template as
     * transformers gives it: templates with a tool format (Llama 3.1's) render them, others ignore them.
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, List<Map<String, Object>> tools) {
        if (template == null) {
            throw new TokenizerException(missing);
        }
        List<Map<String, Object>> msgs = messages.stream().map(ChatTemplate::message).toList();
        Map<String, Object> context = new HashMap<>();
        context.put("messages", msgs);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        context.put("add_generation_prompt", addGenerationPrompt);
        if (tools != null) {
            context.put("tools", tools);
        }
        // as transformers picks among a list-form chat_template's entries
        RenderResult result = jinjava.renderForResult(tools != null && toolUse != null ? toolUse : template, context);
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new TokenizerException("chat template: " + raisedMessage(error.getException(), error.getMessage()));
            }
        }
        return result.getOutput();
    }

    /**
     * Whether the template writes a {@code tools} list into the prompt (else the caller must describe the tools):
     * found by rendering a probe tool in a conversation of a system and a user message, or of a user message alone
     * (templates may refuse either); a template that refuses both renders none.
     */
    public boolean rendersTools() {
        Boolean known = rendersTools;
        if (known == null) {
            Map<String, Object> tool = Map.of("type", "function", "function",
                    Map.of("name", "flexiserve_probe", "description", "probe", "parameters", Map.of("type", "object")));
            known = false;
            for (List<ChatMessage> probe : List.of(List.of(new ChatMessage("system", "Be brief."),
                    new ChatMessage("user", "Hi")), List.of(new ChatMessage("user", "Hi")))) {
                try {
                    known = template != null && render(probe, true, List.of(tool)).contains("flexiserve_probe");
                    break;
                } catch (TokenizerException refused) {
                    // this conversation shape is not the template's: the next one
                }
            }
            rendersTools = known;
        }
        return known;
    }

    private static Map<String, Object> message(ChatMessage m) {
        Map<String, Object> out = new HashMap<>();
        out.put("role", m.role());
        out.put("content", m.content());
        if (m.toolCalls() != null) {
            out.put("tool_calls", m.toolCalls());
        }
        if (m.toolCallId() != null) {
            out.put("tool_call_id", m.toolCallId());
        }
        return out;
    }

    public String bosToken() {
        return bosToken;
    }

    /** Whether the template's text writes {@code token} (a turn marker, say). */
    public boolean mentions(String token) {
        return template != null && template.contains(token) || toolUse != null && toolUse.contains(token);
    }

    public String eosToken() {
        return eosToken;
    }

    /** {@code raise_exception(message)} as transformers defines it for templates. */
    public static String raiseException(String message) {
        throw new TokenizerException(message);
    }

    /** {@code strftime_now(format)}: today's date in a strftime format (the directives chat templates use). */
    public static String strftimeNow(String format) {
        LocalDate today = LocalDate.now();
        String out = format.replace("%d", String.format("%02d", today.getDayOfMonth()))
                .replace("%m", String.format("%02d", today.getMonthValue()))
                .replace("%Y", String.valueOf(today.getYear()))
                .replace("%B", today.format(DateTimeFormatter.ofPattern("MMMM", Locale.ENGLISH)))
                .replace("%b", today.format(DateTimeFormatter.ofPattern("MMM", Locale.ENGLISH)));
        return out.replace("%%", "%");
    }

    /** The template's own raise_exception message when there is one, else Jinjava's description. */
    private static String raisedMessage(Throwable cause, String fallback) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof TokenizerException raised) {
                return raised.getMessage();
            }
        }
        return fallback;
    }

    /** The template of that name: a plain string is the default one; newer files list them by name. */
    private static String templateText(JsonNode node, String name) {
        if (node.isTextual()) {
            return name.equals("default") ? node.asText() : null;
        }
        for (JsonNode named : node) { // [{"name": "default", "template": "..."}, {"name": "tool_use", ...}]
            if (named.path("name").asText().equals(name)) {
                return named.path("template").asText();
            }
        }
        return null;
    }

    private static String tokenText(JsonNode node) {
        if (node.isTextual()) {
            return node.asText();
        }
        return node.path("content").asText("");
    }
}
