/**
 * The CPU kernels: products {@code y = x W^T} of f32 rows with weights packed once at load for the Java Vector API (and
 * read by native AVX-512 kernels where the CPU has VNNI), and the threads they run on. Nothing here knows a layer;
 * {@code model} calls in through {@code Linear}, the Java path and the loader. May import java, DJL (a packed weight
 * lives in a libtorch tensor), Jackson (the cache's index), JBoss logging, {@code jdk.incubator.vector} and
 * {@code model.checkpoint} (f16 bits, unmapping a file) only.
 *
 * <p>Reading order: {@link io.flexiserve.model.cpu.WeightFormat} (f16, q8, q4, f32: bytes per weight),
 * {@link io.flexiserve.model.cpu.VectorGemm} (one packed weight: which kernel multiplies how many rows, split over
 * the helpers), {@link io.flexiserve.model.cpu.PanelLayout} with {@link io.flexiserve.model.cpu.PanelKernels} and
 * {@link io.flexiserve.model.cpu.RowKernel} (f16: many rows, one row), {@link io.flexiserve.model.cpu.QuantLayout}
 * with {@link io.flexiserve.model.cpu.QuantKernels} (8 and 4 bits), {@link io.flexiserve.model.cpu.NativeKernels}
 * (the same products in C with int8 dot products, src/main/c), {@link io.flexiserve.model.cpu.FloatPanels} (f32:
 * routers and adapters), {@link io.flexiserve.model.cpu.GemmHelpers}
 * (the helper threads), {@link io.flexiserve.model.cpu.PackedWeightCache} (packed weights kept on disk between
 * starts), and {@link io.flexiserve.model.cpu.TorchThreads} / {@link io.flexiserve.model.cpu.ShortLivedThread}
 * (libtorch's OpenMP threads: why work that calls libtorch runs on threads that end).
 *
 * <p>Every kernel adds a row's products in the same order whatever rows share its call, so a row's result does not
 * depend on its batch (the native quantized kernels multiply every row alone, the same way) (docs/architecture.md, section 4).
 */
package io.flexiserve.model.cpu;
