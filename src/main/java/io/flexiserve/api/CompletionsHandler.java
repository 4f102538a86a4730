package io.flexiserve.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.flexiserve.api.ChatCompletionRequest.Message;
import io.flexiserve.engine.EngineFailedException;
import io.flexiserve.engine.EngineOverloadedException;
import io.flexiserve.engine.EngineStoppedException;
import io.flexiserve.engine.GenerationRequest;
import io.flexiserve.engine.TokenConstraint;
import io.flexiserve.structured.Grammar;
import io.flexiserve.structured.ToolFormat;
import io.flexiserve.tokenizer.ChatMessage;
import io.flexiserve.tokenizer.ChatTemplate;
import io.flexiserve.tokenizer.PlainText;
import io.flexiserve.tokenizer.TokenizerException;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * {@code POST /v1/chat/completions} and {@code POST /v1/completions}: validate, render and tokenize on a worker
 * thread, submit one sequence per choice to the model's engine, and answer through a {@link ResponseWriter}.
 */
@ApplicationScoped
public class CompletionsHandler {

    /** Routing-context key of the served model id a request resolved to, for the rejection metrics. */
    static final String MODEL_KEY = "flexiserve.model";
    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");
    /** A completion request's max_tokens when it sets none, as OpenAI's and vLLM's legacy endpoint (chat has none). */
    static final int COMPLETIONS_MAX_TOKENS = 16;

    private final ModelRegistry models;
    private final ApiJson json;
    private final RequestLimits limits;
    private final Event<StreamDropped> drops;
    private final StructuredOutputs structured;

    public CompletionsHandler(ModelRegistry models, ApiJson json, RequestLimits limits, Event<StreamDropped> drops,
                              StructuredOutputs structured) {
        this.models = models;
        this.json = json;
        this.limits = limits;
        this.drops = drops;
        this.structured = structured;
    }

    void chat(RoutingContext ctx) {
        ChatCompletionRequest r = json.read(ctx.body().asString(), ChatCompletionRequest.class);
        ModelEndpoint model = resolve(r.model());
        ctx.put(MODEL_KEY, model.name());
        refuseUnsupported(r);
        ResponseFormat format = ResponseFormat.parse(r.responseFormat());
        ToolSpec tools = ToolSpec.parse(r.tools(), r.toolChoice(), r.parallelToolCalls(),
                toolFormat(model.chatTemplate()));
        String text;
        PlainText plain = new PlainText(model.tokenizer().specialTokenTexts());
        try {
            text = render(model.chatTemplate(), messages(r.messages(), limits.maxMessages()), tools, plain);
        } catch (TokenizerException e) {
            throw OpenAiException.invalid("messages", e.getMessage());
        }
        int[] ids = plain.encode(model.tokenizer(), text);
        Grammar grammar;
        if (r.structuredOutputs() != null) {
            if (format != null || ToolSpec.mayCall(tools)) {
                throw OpenAiException.invalid(OutputConstraint.FIELD, "structured_outputs cannot go with "
                        + (format != null ? "response_format" : "tools that may be called") + "; send one");
            }
            grammar = structured.grammar(model, r.structuredOutputs());
        } else {
            grammar = structured.grammar(model, format, tools);
        }
        if (r.maxTokens() != null && r.maxCompletionTokens() != null && !r.maxTokens().equals(r.maxCompletionTokens())) {
            throw OpenAiException.invalid("max_completion_tokens", "max_tokens and max_completion_tokens disagree; send one");
        }
        Integer maxTokens = r.maxCompletionTokens() != null ? r.maxCompletionTokens() : r.maxTokens();
        boolean logprobs = Boolean.TRUE.equals(r.logprobs());
        if (r.topLogprobs() != null && (!logprobs || r.topLogprobs() < 0 || r.topLogprobs() > 20)) {
            throw OpenAiException.invalid("top_logprobs", "top_logprobs must be between 0 and 20 and needs logprobs: true");
        }
        int topLogprobs = logprobs ? (r.topLogprobs() == null ? 0 : r.topLogprobs()) : -1;
        RequestSettings settings = validate(r, maxTokens, r.maxCompletionTokens() != null ? "max_completion_tokens"
                : "max_tokens", topLogprobs, model);
        boolean calls = ToolSpec.mayCall(tools);
        ResponseShape shape = new ChatShape(model.tokenizer(), logprobs, settings.returnLayers(), calls ? tools : null);
        StopScope stops = grammar == null || grammar.plainText() ? StopScope.EVERYWHERE
                : calls && !tools.forced() && format == null ? StopScope.ANSWERS : StopScope.NOWHERE;
        ToolFormat callFormat = calls ? tools.format() : ToolFormat.ARRAY;
        start(ctx, model, shape, "chatcmpl-", List.of(new Prompt(ids, "")), settings, grammar,
                () -> new ReplyStops(settings.stop(), stops, callFormat), 0);
    }

    /**
     * How a model's replies write calls: a template that renders tools and writes a call's {@code "parameters"}
     * (Llama 3.1's family) asks for its JSON; any other keeps FlexiServe's (described in a system message when the
     * template has no tool format; a template of another tool syntax, Hermes' tags or Mistral's, gets the tools list
     * while FlexiServe's format is enforced).
     */
    static ToolFormat toolFormat(ChatTemplate template) {
        return template.rendersTools() && template.mentions("\"parameters\"") ? ToolFormat.TEMPLATE_JSON : ToolFormat.ARRAY;
    }

    /**
     * The prompt: the template's own tool format when it has one, else the tools described in a system message;
     * earlier calls are written so that the template can show them.
     */
    static String render(ChatTemplate template, List<ChatMessage> messages, ToolSpec tools, PlainText plain) {
        if (template.rendersTools()) {
            return template.render(guarded(ToolPrompt.forTemplate(messages), plain), true,
                    tools == null ? null : guardedList(tools.listed(), plain));
        }
        return template.render(guarded(ToolSpec.mayCall(tools) ? ToolPrompt.withTools(messages, tools)
                : ToolPrompt.plain(messages), plain), true);
    }

    /**
     * The messages' text kept as text, earlier calls' names and arguments included: special-token text in it is no
     * control token ({@link PlainText}).
     */
    private static List<ChatMessage> guarded(List<ChatMessage> messages, PlainText plain) {
        return messages.stream().map(m -> new ChatMessage(m.role(), plain.guard(m.content()),
                m.toolCalls() == null ? null : guardedList(m.toolCalls(), plain), m.toolCallId())).toList();
    }

    /** A list of JSON objects (tools, calls) with every string in it guarded. */
    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> guardedList(List<Map<String, Object>> objects, PlainText plain) {
        return (List<Map<String, Object>>) plain.guardAll(objects);
    }

    void completion(RoutingContext ctx) {
        CompletionRequest r = json.read(ctx.body().asString(), CompletionRequest.class);
        ModelEndpoint model = resolve(r.model());
        ctx.put(MODEL_KEY, model.name());
        if (r.suffix() != null && !r.suffix().isEmpty()) {
            throw OpenAiException.invalid("suffix", "suffix (fill-in-the-middle) is not supported by this model");
        }
        int n = r.n() == null ? 1 : r.n();
        if (r.bestOf() != null && r.bestOf() != n) {
            throw OpenAiException.invalid("best_of", "best_of must equal n; server-side candidate ranking is not supported");
        }
        if (r.logprobs() != null && (r.logprobs() < 0 || r.logprobs() > 5)) {
            throw OpenAiException.invalid("logprobs", "logprobs must be between 0 and 5, got " + r.logprobs());
        }
        boolean echo = Boolean.TRUE.equals(r.echo());
        if (echo && r.logprobs() != null) {
            throw OpenAiException.invalid("echo", "echo together with logprobs (prompt logprobs) is not supported");
        }
        RequestSettings settings = validate(r, r.maxTokens(), "max_tokens", r.logprobs() == null ? -1 : r.logprobs(), model);
        List<Prompt> prompts = PromptParser.parse(r.prompt(), model.tokenizer(), model.vocabSize(), echo, limits.maxPrompts());
        ResponseShape shape = new TextShape(model.tokenizer(), r.logprobs() != null, settings.returnLayers());
        Grammar grammar = r.structuredOutputs() == null ? null : structured.grammar(model, r.structuredOutputs());
        StopScope stops = grammar == null || grammar.plainText() ? StopScope.EVERYWHERE : StopScope.NOWHERE;
        start(ctx, model, shape, "cmpl-", prompts, settings, grammar,
                () -> new ReplyStops(settings.stop(), stops, ToolFormat.ARRAY), COMPLETIONS_MAX_TOKENS);
    }

    /** A prompt's ids, and the text to echo before its completion. */
    record Prompt(int[] ids, String echo) {
    }

    private RequestSettings validate(SamplingFields r, Integer maxTokens, String maxTokensField, int topLogprobs,
                                     ModelEndpoint model) {
        return SamplingValidator.validate(r, maxTokens, maxTokensField, topLogprobs, model.vocabSize(),
                model.generationConfig().temperature(), model.generationConfig().topP(), limits);
    }

    ModelEndpoint resolve(String name) {
        if (models.draining()) {
            throw OpenAiException.shuttingDown();
        }
        if (!models.ready()) {
            throw new OpenAiException(503, "service_unavailable", "model_loading", null, "The model is still loading; retry shortly.");
        }
        if (name == null || name.isBlank()) {
            throw OpenAiException.invalid("model", "you must provide a model parameter");
        }
        return models.find(name).orElseThrow(() -> OpenAiException.modelNotFound(name));
    }

    /**
     * A request that resolved {@code name} but reached its engine after it closed: the service is stopping (503, as
     * {@link #resolve} says then), or the model was taken down in between (404, as a request a moment later gets).
     */
    OpenAiException stopped(String name) {
        if (models.draining() || models.find(name).isPresent()) {
            return OpenAiException.shuttingDown();
        }
        return OpenAiException.modelNotFound(name);
    }

    /**
     * Submits every choice. With a grammar each choice gets its own matcher; stop strings then apply only where the
     * output is free text ({@code stops}, a choice's own), so that a structured value is never cut short. A request without
     * max_tokens gets {@code defaultMaxTokens} (0: none), within the configured cap and the context.
     */
    private void start(RoutingContext ctx, ModelEndpoint model, ResponseShape shape, String idPrefix, List<Prompt> prompts,
                       RequestSettings s, Grammar grammar, java.util.function.Supplier<ReplyStops> stops,
                       int defaultMaxTokens) {
        int choices = prompts.size() * s.n();
        if (choices > limits.maxChoices()) {
            throw OpenAiException.invalid("n", "prompts times n must be at most " + limits.maxChoices() + ", got " + choices);
        }
        int maxLen = model.maxModelLen();
        int[] maxTokens = new int[prompts.size()];
        for (int p = 0; p < prompts.size(); p++) {
            int promptTokens = prompts.get(p).ids().length;
            int room = maxLen - promptTokens; // unset max_tokens: the endpoint's default, the configured cap, the context
            int unset = Math.min(room, limits.maxTokens() > 0 ? limits.maxTokens() : room);
            maxTokens[p] = s.maxTokens() != null ? s.maxTokens() : defaultMaxTokens > 0 ? Math.min(defaultMaxTokens, unset) : unset;
            if (promptTokens + maxTokens[p] > maxLen || maxTokens[p] < 1) {
                throw OpenAiException.contextLength(shape.promptField(), maxLen, promptTokens, Math.max(maxTokens[p], 1));
            }
        }
        ResponseMeta meta = new ResponseMeta(idPrefix + UUID.randomUUID().toString().replace("-", ""),
                System.currentTimeMillis() / 1000, model.name());
        ResponseWriter writer = s.stream()
                ? new ResponseWriter.Streaming(ctx.response(), ctx.request().connection(), ctx.vertx(), meta, shape, json, model,
                        choices, s.includeUsage(), limits.streamBufferBytes(), limits.streamStallSeconds(),
                        reason -> drops.fire(new StreamDropped(model.name(), reason)))
                : new ResponseWriter.Buffered(ctx.response(), meta, shape, json, model, choices);
        List<Choice> all = new ArrayList<>();
        try {
            for (int p = 0; p < prompts.size(); p++) {
                Prompt prompt = prompts.get(p);
                for (int i = 0; i < s.n(); i++) {
                    Choice choice = new Choice(p * s.n() + i, model.tokenizer(), stops.get(), writer,
                            s.topLogprobs() >= 0, s.stream() && s.returnLayers(), prompt.echo());
                    Set<Integer> ends = s.ignoreEos() ? Set.of() : model.generationConfig().eosTokenIds();
                    TokenConstraint constraint = grammar == null ? null
                            : StructuredOutputs.constraint(grammar, ends.stream().mapToInt(Integer::intValue).toArray());
                    GenerationRequest request = new GenerationRequest(prompt.ids(), s.seedFor(i), maxTokens[p], ends,
                            s.threshold(), s.topLogprobs(), constraint);
                    writer.counts(choice.index, i == 0 ? prompt.ids().length : 0);
                    writer.track(model.engine().submit(request, choice));
                    all.add(choice);
                }
            }
        } catch (EngineOverloadedException e) {
            writer.cancelAll();
            throw new OpenAiException(429, "rate_limit_error", "server_overloaded", null,
                    "The server is overloaded: " + e.getMessage() + ". Retry after a short wait.");
        } catch (EngineStoppedException e) {
            writer.cancelAll();
            throw stopped(model.name());
        } catch (EngineFailedException e) {
            writer.cancelAll();
            throw new OpenAiException(503, "service_unavailable", "model_unhealthy", null,
                    "The model cannot serve: " + e.getMessage() + ".");
        } catch (IllegalArgumentException e) {
            writer.cancelAll();
            throw OpenAiException.invalid("max_tokens", e.getMessage());
        }
        writer.start(all);
    }

    /** Refuses what FlexiServe does not implement; a field sent as null is absent, as OpenAI and vLLM take it. */
    private static void refuseUnsupported(ChatCompletionRequest r) {
        refuse("functions", given(r.functions())); // deprecated for tools, which are supported
        refuse("function_call", given(r.functionCall()) && !"none".equals(r.functionCall().asText()));
        refuse("audio", given(r.audio()));
        refuse("modalities", given(r.modalities())
                && !(r.modalities().size() == 1 && "text".equals(r.modalities().get(0).asText())));
        refuse("prediction", given(r.prediction()));
        refuse("reasoning_effort", given(r.reasoningEffort()));
        refuse("web_search_options", given(r.webSearchOptions()));
        refuse("store", Boolean.TRUE.equals(r.store()));
        refuse("metadata", given(r.metadata()) && !r.metadata().isEmpty());
        refuse("service_tier", r.serviceTier() != null && !Set.of("auto", "default").contains(r.serviceTier()));
    }

    /** Whether a JSON field was sent with a value (Jackson gives a field sent as null as a NullNode). */
    private static boolean given(JsonNode field) {
        return field != null && !field.isNull();
    }

    private static void refuse(String field, boolean present) {
        if (present) {
            throw OpenAiException.invalid(field, "'" + field + "' is not supported by FlexiServe; remove it from the request");
        }
    }

    private static List<ChatMessage> messages(List<Message> in, int maxMessages) {
        if (in == null || in.isEmpty()) {
            throw OpenAiException.invalid("messages", "messages must be a non-empty list");
        }
        if (in.size() > maxMessages) {
            throw OpenAiException.invalid("messages", "at most " + maxMessages + " messages per request, got " + in.size());
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < in.size(); i++) {
            Message m = in.get(i);
            String param = "messages[" + i + "]";
            if (m == null || m.role() == null) {
                throw OpenAiException.invalid(param + ".role", "each message needs a role");
            }
            if (!ROLES.contains(m.role())) {
                throw OpenAiException.invalid(param + ".role", "Invalid role '" + m.role()
                        + "'; supported roles are system, developer, user, assistant and tool");
            }
            out.add(message(m, param));
        }
        return out;
    }

    /** One message: an assistant's may hold tool calls instead of content; a tool's answers one call. */
    private static ChatMessage message(Message m, String param) {
        String role = m.role().equals("developer") ? "system" : m.role();
        refuse(param + ".audio", given(m.audio()));
        if (given(m.functionCall())) {
            throw OpenAiException.invalid(param + ".function_call", "function_call (deprecated) is not supported;"
                    + " send the call as tool_calls");
        }
        if (given(m.toolCalls())) {
            if (!role.equals("assistant")) {
                throw OpenAiException.invalid(param + ".tool_calls", "only assistant messages carry tool_calls");
            }
            List<Map<String, Object>> calls = toolCalls(m.toolCalls(), param + ".tool_calls");
            boolean noContent = m.content() == null || m.content().isNull();
            return new ChatMessage(role, noContent ? null : content(m.content(), param), calls, null);
        }
        if (role.equals("tool")) {
            if (m.toolCallId() == null || m.toolCallId().isEmpty()) {
                throw OpenAiException.invalid(param + ".tool_call_id", "a tool message needs the tool_call_id it answers");
            }
            return new ChatMessage(role, content(m.content(), param), null, m.toolCallId());
        }
        return new ChatMessage(role, content(m.content(), param));
    }

    /** {@code [{"id", "type": "function", "function": {"name", "arguments": "<JSON text>"}}, ...]}. */
    private static List<Map<String, Object>> toolCalls(JsonNode calls, String param) {
        if (!calls.isArray() || calls.isEmpty()) {
            throw OpenAiException.invalid(param, "tool_calls must be a non-empty list");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            JsonNode call = calls.get(i);
            JsonNode function = call.path("function");
            if (!call.path("id").isTextual() || !"function".equals(call.path("type").asText())
                    || !function.path("name").isTextual() || !function.path("arguments").isTextual()) {
                throw OpenAiException.invalid(param + "[" + i + "]", "a tool call needs an id, type 'function' and a "
                        + "function with a name and arguments (a JSON string)");
            }
            Map<String, Object> fn = new LinkedHashMap<>();
            fn.put("name", function.get("name").asText());
            fn.put("arguments", function.get("arguments").asText());
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("id", call.get("id").asText());
            c.put("type", "function");
            c.put("function", fn);
            out.add(c);
        }
        return out;
    }

    /** A string, or a list of text parts joined in order by newlines (as vLLM joins them); other part types are refused. */
    private static String content(JsonNode content, String param) {
        if (content == null || content.isNull()) {
            throw OpenAiException.invalid(param + ".content", "message content is required");
        }
        if (content.isTextual()) {
            return content.asText();
        }
        if (!content.isArray() || content.isEmpty()) {
            throw OpenAiException.invalid(param + ".content", "content must be a string or a non-empty list of text parts");
        }
        List<String> texts = new ArrayList<>();
        for (JsonNode part : content) {
            if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                throw OpenAiException.invalid(param + ".content", "only {\"type\": \"text\", \"text\": ...} content parts are supported");
            }
            texts.add(part.path("text").asText());
        }
        return String.join("\n", texts);
    }
}
