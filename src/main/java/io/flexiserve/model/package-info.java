/**
 * The FlexiDepth-Llama network on DJL NDArrays: the config and the loader that maps a checkpoint's tensors to
 * layers (the files themselves are {@code model.checkpoint}'s), the layers (embedding, RMSNorm, RoPE, GQA attention
 * over a preallocated KV cache, SwiGLU MLP, router, adapter) and one batched forward over the token rows of a step.
 * On the CPU with {@code mixed}, {@code q8} or {@code q4}, the projections are stored for FlexiServe's Java (Vector
 * API) kernels ({@code VectorGemm}; formats {@code WeightFormat}, {@code PanelLayout}, {@code QuantLayout}; kept on
 * disk by {@code PackedWeightCache}), and decode steps run through the whole network in Java ({@code DecodeForward},
 * {@code DecodeLayer}, {@code DecodeAttention}).
 * May import java, DJL, Jackson (for the JSON files of a checkpoint) and {@code jdk.incubator.vector} only.
 *
 * <p>Reading order: {@code ModelConfig}, {@code ModelLoader}, {@code FlexiDepthModel} (the step's forward),
 * {@code DecoderLayer} (the equations of one layer: run or skip), {@code Attention}, {@code Router}, {@code Linear}
 * (which kernel multiplies), then the CPU path: {@code VectorGemm}, {@code PanelLayout}/{@code PanelKernels}/
 * {@code RowKernel}, {@code QuantLayout}/{@code QuantKernels}, and {@code DecodeForward}/{@code DecodeLayer}.
 *
 * <p>Shape legend, used in every comment of this package: N token rows in the step, D hidden size,
 * H query heads, Hkv KV heads, G = H / Hkv query heads per KV head, Dh head dim, F MLP hidden size,
 * V vocabulary, L layers, R router hidden size (D / router_reduction_factor), M adapter hidden size
 * (F / proj_reduction_factor), T keys attended to, C KV cache capacity in tokens.
 */
package io.flexiserve.model;
