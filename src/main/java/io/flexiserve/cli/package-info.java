/**
 * Command-line entries of the jar that run without starting the HTTP service: generating a checkpoint and
 * generating text from one. May import {@code model}, {@code tokenizer}, {@code engine}, picocli.
 */
package io.flexiserve.cli;
