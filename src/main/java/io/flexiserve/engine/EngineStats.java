package io.flexiserve.engine;

/**
 * A snapshot of the engine's load.
 *
 * @param running      sequences admitted (holding KV rows)
 * @param waiting      sequences submitted and not yet admitted
 * @param kvUsage      fraction of KV cache rows reserved, 0..1
 */
public record EngineStats(int running, int waiting, double kvUsage) {
}
