package io.flexiserve.tokenizer;

import java.util.List;
import java.util.Map;

/**
 * One message of a conversation as the chat template sees it.
 *
 * @param content    the text; null for an assistant message that only calls tools
 * @param toolCalls  an assistant message's calls as OpenAI writes them ({@code id}, {@code type}, {@code function}
 *                   with {@code name} and {@code arguments}), or null
 * @param toolCallId the call a {@code tool} message answers, or null
 */
public record ChatMessage(String role, String content, List<Map<String, Object>> toolCalls, String toolCallId) {

    public ChatMessage(String role, String content) {
        this(role, content, null, null);
    }
}
