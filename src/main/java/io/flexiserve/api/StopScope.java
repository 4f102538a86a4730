package io.flexiserve.api;

/**
 * Where a choice's stop strings apply. A structured value (a response format, a forced tool call) is never cut by
 * one: it ends when the value is complete. Under {@code tool_choice: auto} they apply to an answer, not to calls.
 */
enum StopScope {
    EVERYWHERE,
    NOWHERE,
    /** In a reply whose first non-blank character is not {@code [} (an answer rather than tool calls). */
    ANSWERS
}
