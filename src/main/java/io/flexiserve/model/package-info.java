/**
 * The FlexiDepth-Llama network on DJL NDArrays: checkpoint loading (config.json, safetensors, sharded
 * index), the layers (embedding, RMSNorm, RoPE, GQA attention over a preallocated KV cache, SwiGLU MLP,
 * router, adapter) and one batched forward over the token rows of a step. On CPU with {@code mixed}, f16
 * weights are also packed for FlexiServe's Java (Vector API) kernels ({@code VectorGemm}), and decode steps
 * run through the whole network in Java ({@code DecodeForward}, {@code DecodeLayer}, {@code DecodeAttention}).
 * May import java, DJL, Jackson (for the JSON files of a checkpoint) and {@code jdk.incubator.vector} only.
 *
 * <p>Shape legend, used in every comment of this package: N token rows in the step, D hidden size,
 * H query heads, Hkv KV heads, G = H / Hkv query heads per KV head, Dh head dim, F MLP hidden size,
 * V vocabulary, L layers, R router hidden size (D / router_reduction_factor), M adapter hidden size
 * (F / proj_reduction_factor), T keys attended to, C KV cache capacity in tokens.
 */
package io.flexiserve.model;
