package io.flexiserve;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.flexiserve.model.MemoryEstimate;
import io.flexiserve.model.ModelConfig;
import io.flexiserve.model.ModelOptions;
import org.junit.jupiter.api.Test;

/** The preflight on the release's shape: what each dtype needs, and what the refusal says. */
class MemoryPlanTest {

    /** FlexiDepth-Llama-3-8B: 32 layers, hidden 4096, MLP 14336, 32/8 heads of 128, vocab 128256, layers 16-31 routed. */
    private static final ModelConfig RELEASE = ModelConfig.release();
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
            // mixed: the packed form is the only copy of each projection; the Java path packs the routers again
            double mixed = MemoryEstimate.weightBytes(RELEASE, options("mixed")) / GB;
            // the Java kernels' models read the embedding's rows from the checkpoint (2.1 GB less), and hold the
            // routers and adapters packed only, in f32 (0.42 GB more)
            assertTrue(mixed > f16Weights - 1.85 && mixed < f16Weights - 1.5, "mixed: " + mixed + " GB");
            // 7.50B projection and LM head weights at 1.0625 and 0.5625 bytes (a bf16 scale per 32), the routers
            // and adapters (0.21B) in f32, no embedding held
            double q8 = MemoryEstimate.weightBytes(RELEASE, options("q8")) / GB;
            double q4 = MemoryEstimate.weightBytes(RELEASE, options("q4")) / GB;
            assertTrue(q8 > 8.55 && q8 < 9.05, "q8: " + q8 + " GB");
            assertTrue(q4 > 4.85 && q4 < 5.25, "q4: " + q4 + " GB");
        }
    }

    /** {@code auto} on the CPU: packed f16 when it fits, else 8 bits, else 4; the fastest when nothing does. */
    @Test
    void autoPicksTheFastestFormatThatFitsAndSaysWhy() {
        org.junit.jupiter.api.Assumptions.assumeTrue(options("auto").javaKernels(), "the Java kernels are needed");
        MemoryPlan plan = new MemoryPlan((long) (24 * GB), (long) GB, "test");
        MemoryPlan.AutoChoice roomy = plan.resolveAuto(RELEASE, options("auto"), 2048, 64, (long) (22 * GB));
        assertTrue(roomy.dtype().equals("mixed") && roomy.reason().startsWith("mixed needs "), roomy.toString());
        MemoryPlan.AutoChoice q8 = plan.resolveAuto(RELEASE, options("auto"), 2048, 64, (long) (14 * GB));
        assertTrue(q8.dtype().equals("q8") && q8.reason().contains("mixed needs") && q8.reason().contains("q8 needs"),
                q8.toString());
        MemoryPlan.AutoChoice q4 = plan.resolveAuto(RELEASE, options("auto"), 2048, 64, (long) (10 * GB));
        assertTrue(q4.dtype().equals("q4"), q4.toString());
        MemoryPlan.AutoChoice none = plan.resolveAuto(RELEASE, options("auto"), 2048, 64, (long) (5 * GB));
        assertTrue(none.dtype().equals("mixed") && none.reason().contains("none fits"), none.toString());
        assertThrows(MemoryBudgetException.class,
                () -> plan.checkFits("release", RELEASE, options(none.dtype()), none.dtype(), 2048, 64, (long) (5 * GB)));
    }

    /** {@code bench --dtype auto} resolves as a service started with nothing configured: its engine limits. */
    @Test
    void autoWithNothingConfiguredPlansForTheServicesDefaultLimits() {
        org.junit.jupiter.api.Assumptions.assumeTrue(options("auto").javaKernels(), "the Java kernels are needed");
        MemoryPlan.AutoChoice unconfigured = MemoryPlan.resolveAutoUnconfigured(RELEASE, options("auto"));
        String mixedNeeds = new MemoryPlan((long) (24 * GB), (long) GB, "test")
                .resolveAuto(RELEASE, options("auto"), 2048, 64, (long) (5 * GB)).reason().split(";")[0];
        assertTrue(mixedNeeds.matches("mixed needs [0-9.]+ GB"), mixedNeeds);
        assertTrue(unconfigured.reason().startsWith(mixedNeeds) && unconfigured.reason().contains(" GB free"),
                unconfigured.toString());
        String needsWithOtherLimits = new MemoryPlan((long) (24 * GB), (long) GB, "test")
                .resolveAuto(RELEASE, options("auto"), 8192, 256, (long) (5 * GB)).reason().split(";")[0];
        assertFalse(unconfigured.reason().startsWith(needsWithOtherLimits), "the limits change the need: "
                + needsWithOtherLimits);
        assertTrue(java.util.List.of("mixed", "q8", "q4").contains(unconfigured.dtype()), unconfigured.toString());
    }

    /**
     * The Java path's dtypes keep the cache in f16 where it takes every step (ModelOptions.kvDtype): one full-length
     * sequence of the release (8192 tokens) is planned at 1.07 GB, not the 2.15 GB of f32 rows.
     */
    @Test
    void theKvCacheIsPlannedInTheDtypeItWillBeStoredIn() {
        MemoryPlan plan = new MemoryPlan((long) (24 * GB), (long) GB, "test");
        String f32 = assertThrows(MemoryBudgetException.class, () -> plan.checkFits("release", RELEASE, options("f32"),
                "f32", 2048, 64, (long) GB)).getMessage();
        assertTrue(f32.contains("KV for one 8192-token sequence 2.15 GB"), f32);
        org.junit.jupiter.api.Assumptions.assumeTrue(options("auto").javaKernels(), "the Java kernels are needed");
        org.junit.jupiter.api.Assumptions.assumeTrue(options("q8").kvDtype(RELEASE) == ai.djl.ndarray.types.DataType.FLOAT16,
                "no native attention kernel for heads of 128 here: the cache stays f32");
        String q8 = assertThrows(MemoryBudgetException.class, () -> plan.checkFits("release", RELEASE, options("q8"),
                "q8", 2048, 64, (long) GB)).getMessage();
        assertTrue(q8.contains("KV for one 8192-token sequence 1.07 GB"), q8);
    }

    @Test
    void aModelThatDoesNotFitIsRefusedNamingTheNeedAndWhatWouldFit() {
        MemoryPlan plan = new MemoryPlan((long) (24 * GB), (long) GB, "test");
        MemoryBudgetException f32 = assertThrows(MemoryBudgetException.class,
                () -> plan.checkFits("release", RELEASE, options("f32"), "f32", 2048, 64, (long) (22 * GB)));
        String message = f32.getMessage();
        assertTrue(message.contains("as dtype f32 needs 36.") && message.contains("but 22.0 GB is free"), message);
        assertTrue(message.contains("f16-weights (") && !message.contains("f32 ("), "names what fits: " + message);

        MemoryBudgetException none = assertThrows(MemoryBudgetException.class,
                () -> plan.checkFits("release", RELEASE, options("f16-weights"), "f16-weights", 2048, 64, (long) (3 * GB)));
        assertTrue(none.getMessage().contains("No CPU dtype fits"), none.getMessage());
        assertFalse(none.getMessage().contains("Set flexiserve.model.dtype"), none.getMessage());

        plan.checkFits("release", RELEASE, options("f16-weights"), "f16-weights", 2048, 64, (long) (22 * GB)); // fits
    }
}
