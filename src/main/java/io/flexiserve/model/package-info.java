/**
 * The FlexiDepth-Llama network on DJL NDArrays: the config and the loader that maps a checkpoint's tensors to layers
 * (the files themselves are {@code model.checkpoint}'s), the layers (embedding, RMSNorm, RoPE, GQA attention over a
 * preallocated KV cache, SwiGLU MLP, router, adapter) and one batched forward over the token rows of a step. On the CPU
 * with {@code mixed}, {@code q8} or {@code q4}, the projections are multiplied by {@code model.cpu}'s Java (Vector API)
 * or native kernels, and decode steps run through the whole network in Java, as do prompt chunks where the native
 * attention kernel runs (the Java path): each tensor class builds its Java twin ({@code JavaForward},
 * {@code JavaLayer}, {@code JavaAttention}, {@code JavaNorm}, {@code JavaStep}); {@code RowSet} and {@code RowSplit}
 * hold a routing decision's two sides of the rows. May import java, DJL, Jackson (for the JSON files of a checkpoint)
 * and {@code jdk.incubator.vector} only.
 *
 * <p>Reading order: {@code ModelConfig}, {@code ModelLoader}, {@code FlexiDepthModel} (the step's forward and the
 * path it takes), {@code DecoderLayer} (the equations of one layer: run or skip), {@code Router} (the one routing
 * decision, {@code Router.runs}), {@code Attention}, {@code Linear} (which kernel multiplies), then the Java
 * path: {@code JavaForward}, {@code JavaLayer} (the same run/skip methods on rows), {@code JavaAttention}; the
 * kernels under it are {@code model.cpu}'s.
 *
 * <p>Shape legend, used in every comment of this package: N token rows in the step, D hidden size,
 * H query heads, Hkv KV heads, G = H / Hkv query heads per KV head, Dh head dim, F MLP hidden size,
 * V vocabulary, L layers, R router hidden size (D / router_reduction_factor), M adapter hidden size
 * (F / proj_reduction_factor), T keys attended to, C KV cache capacity in tokens.
 */
package io.flexiserve.model;
