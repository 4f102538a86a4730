package io.flexiserve;

import io.flexiserve.model.FlexiDepthModel;
import io.flexiserve.tokenizer.ChatTemplate;
import io.flexiserve.tokenizer.GenerationConfig;
import io.flexiserve.tokenizer.Tokenizer;
import java.nio.file.Path;

/** A loaded checkpoint with everything needed to serve it under one model id. */
public record ServedModel(String name, Path path, FlexiDepthModel model, Tokenizer tokenizer, ChatTemplate chatTemplate,
                          GenerationConfig generationConfig) implements AutoCloseable {

    @Override
    public void close() {
        model.close();
        tokenizer.close();
    }
}
