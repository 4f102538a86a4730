package io.flexiserve.model;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.flexiserve.model.cpu.VectorGemm;
import io.flexiserve.model.cpu.WeightFormat;

/**
 * How to load a checkpoint.
 *
 * @param device                where weights and the KV cache live
 * @param dtype                 compute dtype of activations and the KV cache, FLOAT32 or FLOAT16
 * @param weightDtype           dtype of the projection weights (bf16 checkpoints are converted); FLOAT16
 *                              with a FLOAT32 compute dtype keeps the residual stream in f32 and casts
 *                              around each projection, which on CPU takes libtorch's fast f16 kernels
 * @param maxPositions          longest sequence to prepare RoPE tables for; 0 means max_position_embeddings
 * @param premultiplyRouterHead replace {@code W_head W_dec} by their product (faster, not bit-identical)
 * @param batchRows             with f16 weights on CPU, store each base projection for FlexiServe's Java kernels
 *                              ({@link VectorGemm}, as {@code packing} says) when the Vector API is on the module
 *                              path, as the only copy; without it keep an f32 copy for steps of this many rows or
 *                              more, where libtorch's f16 kernels do not batch; 0 keeps libtorch's f16 weights only
 * @param packing               how the Java kernels store the base projections and the LM head: f16 panels
 *                              ({@code mixed}), or 8- or 4-bit codes ({@code q8}, {@code q4})
 */
public record ModelOptions(Device device, DataType dtype, DataType weightDtype, int maxPositions,
                           boolean premultiplyRouterHead, int batchRows, WeightFormat packing) {

    /**
     * Rows from which {@code mixed} switches to its f32 copies when the Vector API is missing. On this project's CPU
     * (BENCHMARKS.md) the f16 kernels' time grows with the rows while libtorch's f32 GEMM's barely moves up to 16:
     * summed over a layer of the ~1.5B shape, f16 is still about 20% faster at 8 rows and the two meet at about 10.
     */
    public static final int MIXED_F32_ROWS = 10;

    public ModelOptions {
        if (packing == WeightFormat.F32) { // the routers' and adapters' format, not the projections'
            throw new IllegalArgumentException("f32 is not a packing for projections: use dtype f32");
        }
        if (packing != WeightFormat.F16 && (batchRows == 0 || device.isGpu() || !VectorGemm.AVAILABLE)) {
            throw new IllegalArgumentException(packing.label() + " weights need the Java kernels: the CPU, and the"
                    + " Vector API on the module path (java --add-modules jdk.incubator.vector)");
        }
        if (batchRows < 0) {
            throw new IllegalArgumentException("batchRows must be >= 0, not " + batchRows);
        }
        for (DataType t : new DataType[] {dtype, weightDtype}) {
            if (t != DataType.FLOAT32 && t != DataType.FLOAT16) {
                throw new IllegalArgumentException("dtypes must be float32 or float16, not " + t);
            }
        }
    }

    /** Packed f16 where {@code batchRows > 0}: {@code mixed}'s packing. */
    public ModelOptions(Device device, DataType dtype, DataType weightDtype, int maxPositions,
                        boolean premultiplyRouterHead, int batchRows) {
        this(device, dtype, weightDtype, maxPositions, premultiplyRouterHead, batchRows, WeightFormat.F16);
    }

    /** Weights and activations in the same dtype. */
    public ModelOptions(Device device, DataType dtype, int maxPositions, boolean premultiplyRouterHead) {
        this(device, dtype, dtype, maxPositions, premultiplyRouterHead, 0);
    }

    /**
     * From a configuration name: {@code f32}, {@code f16}, {@code f16-weights} (f16 projections, f32 activations),
     * {@code mixed} (f16 projections under f32 activations, packed for the Java kernels as their only copy: half the
     * memory of f32 and the fastest CPU choice; without the Vector API, f16 weights plus f32 copies for steps of
     * {@link #MIXED_F32_ROWS} rows or more, 1.5x the memory of f32), {@code q8} and {@code q4} ({@code mixed} with
     * the projections and LM head quantized to 8 or 4 bits per weight: about 0.54x and 0.32x of its memory at 8B; on a
     * GPU they are f16), or {@code auto}: f16 on GPU; on CPU {@code mixed} with the Vector API, else f32. (The service
     * resolves {@code auto} against its memory budget first: {@code MemoryPlan.resolveAuto}.)
     */
    public static ModelOptions of(Device device, String dtype, int maxPositions, boolean premultiplyRouterHead) {
        return switch (dtype) {
            case "auto" -> device.isGpu() || !VectorGemm.AVAILABLE
                    ? new ModelOptions(device, device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32, maxPositions,
                            premultiplyRouterHead)
                    : of(device, "mixed", maxPositions, premultiplyRouterHead);
            case "q8", "q4" -> device.isGpu() ? new ModelOptions(device, DataType.FLOAT16, maxPositions, premultiplyRouterHead)
                    : new ModelOptions(device, DataType.FLOAT32, DataType.FLOAT16, maxPositions, premultiplyRouterHead,
                            MIXED_F32_ROWS, dtype.equals("q8") ? WeightFormat.Q8 : WeightFormat.Q4);
            case "f32", "float32" -> new ModelOptions(device, DataType.FLOAT32, maxPositions, premultiplyRouterHead);
            case "f16", "float16" -> new ModelOptions(device, DataType.FLOAT16, maxPositions, premultiplyRouterHead);
            case "f16-weights" -> new ModelOptions(device, DataType.FLOAT32, DataType.FLOAT16, maxPositions,
                    premultiplyRouterHead, 0);
            case "mixed" -> new ModelOptions(device, DataType.FLOAT32, DataType.FLOAT16, maxPositions, premultiplyRouterHead,
                    device.isGpu() ? 0 : MIXED_F32_ROWS);
            default -> throw new IllegalArgumentException(
                    "dtype must be auto, f32, f16, f16-weights, mixed, q8 or q4, not '" + dtype + "'");
        };
    }

    /** Whether the base projections are stored for the Java kernels only (the CPU with the Vector API). */
    public boolean javaKernels() {
        return batchRows > 0 && weightDtype == DataType.FLOAT16 && !device.isGpu() && VectorGemm.AVAILABLE;
    }

    /**
     * The dtype a model loaded with these options keeps its KV cache in ({@link FlexiDepthModel#kvDtype}): f16 where
     * the Java path takes every step (the Java kernels, and the native attention kernel for this head size), else the
     * compute dtype. For the memory plan, before any weight is read.
     */
    public DataType kvDtype(ModelConfig config) {
        return javaKernels() && JavaForward.halvesCache(config) ? DataType.FLOAT16 : dtype;
    }

    /** f32 on the CPU, full context, exact router. */
    public static ModelOptions cpu() {
        return new ModelOptions(Device.cpu(), DataType.FLOAT32, 0, false);
    }
}
