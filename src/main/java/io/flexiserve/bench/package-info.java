/**
 * The benchmark harness behind the jar's {@code bench} command (BENCHMARKS.md): memory bandwidth and the
 * batch-1 roofline, in-process decode at several routing thresholds, and serving throughput and latency
 * through the HTTP API. Programs that print numbers, never tests. May import {@code model}, {@code engine}
 * and DJL.
 */
package io.flexiserve.bench;
