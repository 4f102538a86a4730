package io.flexiserve.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Tiny seeded checkpoints written by the real generator, for model tests. */
final class TestCheckpoints {

    static final int VOCAB = 96;

    private TestCheckpoints() {
    }

    /** D 64, F 128, 4 layers, 4 query heads over 2 KV heads of 16, router R 4, adapter M 8. */
    static ModelConfig config(List<Integer> routed, RopeScaling scaling) {
        return new ModelConfig(routed.isEmpty() ? "llama" : "ddllama", 64, 128, 4, 4, 2, 16, VOCAB, 1e-5, 10000.0,
                scaling, 256, false, routed, 16, 16, 1, List.of(2), "float32");
    }

    static ModelConfig flexi() {
        return config(List.of(2, 3), null);
    }

    static Path write(Path dir, ModelConfig config, TensorDtype dtype, long seed, int shards) throws IOException {
        CheckpointGenerator.write(dir, new CheckpointGenerator.Spec(config, dtype, seed, shards, 1.5));
        return dir;
    }

    static Path write(Path dir, ModelConfig config) throws IOException {
        return write(dir, config, TensorDtype.F32, 7, 1);
    }
}
