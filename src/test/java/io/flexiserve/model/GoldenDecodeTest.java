package io.flexiserve.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flexiserve.engine.Sampler;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression: the greedy continuation of a seeded tiny FlexiDepth checkpoint, and the layers each generated
 * token used. The generator's values depend only on (seed, tensor name) through java.util.Random, so these
 * ids change only when the forward (or the generator) changes; then check against the reference tests first.
 */
class GoldenDecodeTest {

    private static final List<Integer> GOLDEN_TOKENS = List.of(14, 55, 52, 50, 55, 52, 50, 92, 22, 83, 72, 72, 14, 55, 52, 50);
    private static final List<Integer> GOLDEN_LAYERS = List.of(3, 3, 2, 4, 3, 2, 4, 3, 3, 2, 3, 3, 3, 3, 2, 4);

    @TempDir
    Path dir;

    @Test
    void greedyDecodeOfSeededCheckpointIsStable() throws Exception {
        TestCheckpoints.write(dir, TestCheckpoints.flexi());
        int[] prompt = {1, 10, 20, 30, 40, 50};
        List<Integer> tokens = new ArrayList<>();
        List<Integer> layers = new ArrayList<>();
        try (FlexiDepthModel model = ModelLoader.load(dir, ModelOptions.cpu()); KvCache cache = model.newKvCache(64)) {
            ForwardResult step = model.forward(StepBatch.of(new SequenceChunk(0, 0, prompt, 0.5f, true)), cache);
            int position = prompt.length;
            for (int i = 0; i < 16; i++) {
                int token = Sampler.argmax(step.logits()[0]);
                tokens.add(token);
                layers.add(step.trace().layersUsed(step.trace().rows() - 1));
                step = model.forward(StepBatch.of(new SequenceChunk(0, position++, new int[] {token}, 0.5f, true)), cache);
            }
        }
        assertEquals(GOLDEN_TOKENS, tokens, "greedy tokens");
        assertEquals(GOLDEN_LAYERS, layers, "layers used per generated token");
    }

    @Test
    void goldenValuesAgreeWithTheNaiveReference() throws Exception {
        TestCheckpoints.write(dir, TestCheckpoints.flexi());
        NaiveModel naive = new NaiveModel(dir);
        int[] seq = {1, 10, 20, 30, 40, 50};
        for (int i = 0; i < GOLDEN_TOKENS.size(); i++) {
            NaiveModel.Output out = naive.forward(seq, 0.5f);
            assertEquals(GOLDEN_TOKENS.get(i), Sampler.argmax(out.logits()), "token " + i);
            assertEquals(GOLDEN_LAYERS.get(i), out.layersUsed()[seq.length - 1], "layers of token " + i);
            seq = java.util.Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = GOLDEN_TOKENS.get(i);
        }
    }
}
