package io.flexiserve.model;

import io.flexiserve.model.checkpoint.CheckpointGenerator;
import io.flexiserve.model.checkpoint.TensorDtype;
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
        return ModelConfig.builder().hidden(64).intermediate(128).layers(4).heads(4, 2).headDim(16).vocab(VOCAB)
                .rope(10000.0, scaling).maxPositions(256).routed(routed).specialTokens(1, List.of(2)).build();
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
