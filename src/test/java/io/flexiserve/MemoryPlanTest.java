package io.flexiserve;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.flexiserve.model.MemoryEstimate;
import io.flexiserve.model.ModelConfig;
import io.flexiserve.model.ModelOptions;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The preflight on the release's shape: what each dtype needs, and what the refusal says. */
class MemoryPlanTest {

    /** FlexiDepth-Llama-3-8B: 32 layers, hidden 4096, MLP 14336, 32/8 heads of 128, vocab 128256, layers 16-31 routed. */
    private static final ModelConfig RELEASE = new ModelConfig("ddllama", 4096, 14336, 32, 32, 8, 128, 128256, 1e-5, 500000.0,
            null, 8192, false, IntStream.range(16, 32).boxed().toList(), 16, 16, 128000, List.of(128001, 128009), "bfloat16");
    private static final double GB = 1e9;

    private static ModelOptions options(String dtype) {
        return ModelOptions.of(Device.cpu(), dtype, 0, false);
    }

    @Test
    void weightEstimatesMatchTheReleasesParameterCount() {
        // 8.03B base parameters plus 16 routers and adapters (2 x 4096 x 256 + 3 x 4096 x 896 each, 0.21B)
        double f32 = MemoryEstimate.weightBytes(RELEASE, options("f32")) / GB;
        double f16Weights = MemoryEstimate.weightBytes(RELEASE, options("f16-weights")) / GB;
        assertTrue(f32 > 32.5 && f32 < 33.5, "f32: " + f32 + " GB");
        // f16 projections and LM head, the embedding stays f32 (2.1 GB)
        assertTrue(f16Weights > 17.0 && f16Weights < 17.8, "f16-weights: " + f16Weights + " GB");
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            // mixed: the packed form is the only copy of each projection; the Java decode path packs the routers again
            double mixed = MemoryEstimate.weightBytes(RELEASE, options("mixed")) / GB;
            assertTrue(mixed > f16Weights && mixed < f16Weights + 0.5, "mixed: " + mixed + " GB");
        }
    }

    @Test
    void aModelThatDoesNotFitIsRefusedNamingTheNeedAndWhatWouldFit() {
        MemoryPlan plan = new MemoryPlan((long) (24 * GB), (long) GB, "test");
        MemoryBudgetException f32 = assertThrows(MemoryBudgetException.class,
                () -> plan.checkFits("release", RELEASE, options("auto"), "auto", 2048, 64, (long) (22 * GB)));
        String message = f32.getMessage();
        assertTrue(message.contains("as dtype auto needs 36.") && message.contains("but 22.0 GB is free"), message);
        assertTrue(message.contains("f16-weights (") && !message.contains("f32 ("), "names what fits: " + message);

        MemoryBudgetException none = assertThrows(MemoryBudgetException.class,
                () -> plan.checkFits("release", RELEASE, options("f16-weights"), "f16-weights", 2048, 64, (long) (8 * GB)));
        assertTrue(none.getMessage().contains("No CPU dtype fits"), none.getMessage());
        assertFalse(none.getMessage().contains("Set flexiserve.model.dtype"), none.getMessage());

        plan.checkFits("release", RELEASE, options("f16-weights"), "f16-weights", 2048, 64, (long) (22 * GB)); // fits
    }
}
