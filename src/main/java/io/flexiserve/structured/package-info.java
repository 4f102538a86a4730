/**
 * Structured outputs by constrained decoding: a JSON Schema (or "any JSON object", or tool calls) compiled to a
 * grammar over bytes ({@code SchemaCompiler}, {@code Node}), a matcher that follows an output byte by byte as a set
 * of stacks ({@code State}, {@code Stack}, {@code Frame}, {@code Transitions}), and per step a mask over the
 * tokenizer's vocabulary found by one walk over its sorted token bytes ({@code TokenVocabulary}), cached by state
 * ({@code Grammar}) and applied to the logits before sampling ({@code Matcher}).
 * May import java and Jackson only: no Quarkus, no DJL, nothing else of FlexiServe.
 *
 * <p>Reading order: {@code Grammar}, {@code Matcher}, {@code SchemaCompiler}, {@code Node}, {@code Frame},
 * {@code Transitions}, {@code State}, {@code TokenVocabulary}.
 */
package io.flexiserve.structured;
