/**
 * Text in and out of token ids: the checkpoint's {@code tokenizer.json} through DJL's HF tokenizers, the
 * chat template of {@code tokenizer_config.json} rendered by a real Jinja engine (Jinjava), the stop ids of
 * {@code generation_config.json}, an incremental detokenizer that never splits a UTF-8 character, and the
 * byte-level tokenizer of the demo model. May import java, DJL tokenizers, Jinjava and Jackson.
 */
package io.flexiserve.tokenizer;
