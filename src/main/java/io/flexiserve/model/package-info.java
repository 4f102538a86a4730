/**
 * The FlexiDepth-Llama network on DJL NDArrays: checkpoint loading (config.json, safetensors, sharded
 * index), the layers (embedding, RMSNorm, RoPE, GQA attention over a preallocated KV cache, SwiGLU MLP,
 * router, adapter) and one batched forward over the token rows of a step. May import java, DJL and Jackson (for the JSON files of a checkpoint) only.
 *
 * <p>Shape legend, used in every comment of this package: N token rows in the step, D hidden size,
 * H query heads, Hkv KV heads, G = H / Hkv query heads per KV head, Dh head dim, F MLP hidden size,
 * V vocabulary, L layers, R router hidden size (D / router_reduction_factor), M adapter hidden size
 * (F / proj_reduction_factor), T keys attended to, C KV cache capacity in tokens.
 */
package io.flexiserve.model;
