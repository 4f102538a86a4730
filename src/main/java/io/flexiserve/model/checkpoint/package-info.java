/**
 * Checkpoints on disk: reading safetensors files and sharded indexes ({@link
 * io.flexiserve.model.checkpoint.SafetensorsFile}, {@link io.flexiserve.model.checkpoint.CheckpointTensors}: memory
 * mapped, shape-checked, bf16 widened in row chunks straight into libtorch memory; {@link
 * io.flexiserve.model.checkpoint.StoredRows}: a table read in place row by row, the Java kernels' embedding), writing them
 * ({@link io.flexiserve.model.checkpoint.SafetensorsWriter}), and generating seeded random checkpoints of any shape
 * ({@link io.flexiserve.model.checkpoint.CheckpointGenerator}: the demo model, the tests' models, the benchmark
 * shapes). Every problem is a {@link io.flexiserve.model.checkpoint.CheckpointException} naming the file. Knows
 * nothing of the network: {@code io.flexiserve.model} maps tensor names to layers.
 */
package io.flexiserve.model.checkpoint;
