/**
 * The HTTP surface: OpenAI-compatible resources and DTO records, request validation, SSE, the OpenAI error
 * shape, and the health checks. May import {@code engine}, {@code tokenizer} and Quarkus; never touches an
 * NDArray.
 */
package io.flexiserve.api;
