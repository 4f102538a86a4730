package io.flexiserve.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A sequence's logits and routing do not depend on what else runs in its step. */
class BatchInvarianceTest {

    @TempDir
    Path dir;

    @Test
    void sameSequenceGivesSameLogitsAloneOrBatchedWithOthers() throws Exception {
        TestCheckpoints.write(dir, TestCheckpoints.flexi());
        int[] prompt = {4, 8, 15, 16, 23, 42, 7};
        int[] other = {9, 9, 1, 2, 3, 5, 8, 13, 21, 34, 55};
        try (FlexiDepthModel model = ModelLoader.load(dir, ModelOptions.cpu())) {
            Run alone;
            try (KvCache cache = model.newKvCache(64)) {
                alone = run(model, cache, List.of(), prompt, 0.5f);
            }
            Run batched;
            try (KvCache cache = model.newKvCache(200)) {
                // the other sequences live elsewhere in the cache, use other thresholds, and mix prefill with decode
                model.forward(StepBatch.of(new SequenceChunk(100, 0, Arrays.copyOf(other, 5), 0.2f, true)), cache);
                List<SequenceChunk> neighbours = List.of(
                        new SequenceChunk(100, 5, Arrays.copyOfRange(other, 5, 11), 0.2f, true),
                        new SequenceChunk(150, 0, new int[] {3, 1, 4, 1, 5}, 0.9f, true));
                batched = run(model, cache, neighbours, prompt, 0.5f);
            }
            for (int step = 0; step < alone.logits.length; step++) {
                assertEquals(alone.layers[step], batched.layers[step], "layers used at step " + step);
                float worst = 0;
                for (int i = 0; i < alone.logits[step].length; i++) {
                    worst = Math.max(worst, Math.abs(alone.logits[step][i] - batched.logits[step][i]));
                }
                assertTrue(worst < 1e-5, "step " + step + ": max logit difference " + worst);
            }
        }
    }

    private record Run(float[][] logits, String[] layers) {
    }

    /** Prefill then two decode steps of {@code prompt} at kvOffset 10, with the neighbours in the first step. */
    private static Run run(FlexiDepthModel model, KvCache cache, List<SequenceChunk> neighbours, int[] prompt, float t) {
        float[][] logits = new float[3][];
        String[] layers = new String[3];
        int index = neighbours.isEmpty() ? 0 : 1; // our chunk sits between the neighbours
        List<SequenceChunk> first = new java.util.ArrayList<>(neighbours);
        first.add(index, new SequenceChunk(10, 0, prompt, t, true));
        StepBatch batch = new StepBatch(first);
        ForwardResult result = model.forward(batch, cache);
        logits[0] = result.logits()[index];
        layers[0] = layersOf(result, batch, index);
        int[] next = {60, 61};
        for (int s = 0; s < 2; s++) {
            SequenceChunk mine = new SequenceChunk(10, prompt.length + s, new int[] {next[s]}, t, true);
            batch = neighbours.isEmpty() ? StepBatch.of(mine)
                    : StepBatch.of(new SequenceChunk(150, 5 + s, new int[] {2 + s}, 0.9f, true), mine);
            result = model.forward(batch, cache);
            logits[s + 1] = result.logits()[index];
            layers[s + 1] = layersOf(result, batch, index);
        }
        return new Run(logits, layers);
    }

    private static String layersOf(ForwardResult result, StepBatch batch, int chunk) {
        StringBuilder sb = new StringBuilder();
        for (int row = batch.firstRow(chunk); row <= batch.lastRow(chunk); row++) {
            sb.append(result.trace().layersUsed(row)).append(' ');
        }
        return sb.toString();
    }
}
