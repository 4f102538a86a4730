package io.flexiserve;

import ai.djl.ndarray.types.DataType;
import io.flexiserve.model.KvCache;
import io.flexiserve.model.MemoryEstimate;
import io.flexiserve.model.ModelConfig;
import io.flexiserve.model.ModelOptions;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.runtime.configuration.MemorySizeConverter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The host memory this process may use, and how it is split between weights, the KV cache and the largest step.
 * The limit is {@code flexiserve.memory.limit}, else the container's cgroup limit, else what the machine has
 * available at start plus what the process already holds; {@code flexiserve.memory.reserve} of it stays for the
 * JVM, libraries and the OS. Before a weight is read, {@link #checkFits} refuses a model that cannot fit, naming
 * what it needs and the dtypes that would fit; after loading, {@link #kvTokens} sizes the KV cache from what is
 * left, so that no request can take the process past its limit.
 */
public final class MemoryPlan {

    private static final double GB = 1e9;
    private static final List<String> CPU_DTYPES = List.of("mixed", "q8", "q4", "f32", "f16-weights");
    /** What {@code auto} tries on a CPU with the Java kernels, most precise first: packed f16, then 8 and 4 bits. */
    private static final List<String> AUTO_JAVA = List.of("mixed", "q8", "q4");

    private final long limitBytes;
    private final long reserveBytes;
    private final String source;

    MemoryPlan(long limitBytes, long reserveBytes, String source) {
        this.limitBytes = limitBytes;
        this.reserveBytes = reserveBytes;
        this.source = source;
    }

    static MemoryPlan detect(FlexiServeConfig.Memory config) {
        return detect(config.limit().map(MemorySize::asLongValue), config.reserve().asLongValue());
    }

    private static MemoryPlan detect(Optional<Long> limit, long reserve) {
        if (limit.isPresent()) {
            return new MemoryPlan(limit.get(), reserve, "flexiserve.memory.limit");
        }
        Optional<Long> cgroup = cgroupLimit();
        if (cgroup.isPresent()) {
            return new MemoryPlan(cgroup.get(), reserve, "the container's memory limit (cgroup)");
        }
        return new MemoryPlan(meminfo("MemAvailable:") + residentBytes(), reserve, "the memory available at start");
    }

    /** The dtype {@code auto} resolved to on the CPU, and why (logged by the caller). */
    public record AutoChoice(String dtype, String reason) {
    }

    /**
     * What {@code auto} resolves to in a service started now on this CPU with nothing configured (the memory
     * available, the default reserve and engine limits), so that {@code bench --dtype auto} measures the dtype
     * the service would serve.
     */
    public static AutoChoice resolveAutoUnconfigured(ModelConfig config, ModelOptions auto) {
        MemoryPlan plan = detect(Optional.empty(),
                new MemorySizeConverter().convert(FlexiServeConfig.Memory.DEFAULT_RESERVE).asLongValue());
        return plan.resolveAuto(config, auto, Integer.parseInt(FlexiServeConfig.Engine.DEFAULT_MAX_BATCH_TOKENS),
                Integer.parseInt(FlexiServeConfig.Engine.DEFAULT_MAX_NUM_SEQS));
    }

    /**
     * What {@code auto} means on the CPU here: with the Java kernels, the first of {@code mixed}, {@code q8},
     * {@code q4} whose weights, one full-length sequence's KV and largest step fit what is free (quantized weights
     * only when mixed does not fit); without them, what {@link ModelOptions#of} gives {@code auto}. When none fits,
     * the first, so that {@link #checkFits} refuses it with the full account.
     */
    AutoChoice resolveAuto(ModelConfig config, ModelOptions auto, int maxBatchTokens, int maxNumSeqs) {
        return resolveAuto(config, auto, maxBatchTokens, maxNumSeqs, free());
    }

    /** {@link #resolveAuto} against {@code free} bytes (tests give it; the service measures it). */
    AutoChoice resolveAuto(ModelConfig config, ModelOptions auto, int maxBatchTokens, int maxNumSeqs, long free) {
        if (!auto.javaKernels()) {
            return new AutoChoice("auto", "the Java kernels are not available (java --add-modules jdk.incubator.vector)");
        }
        List<String> tried = new ArrayList<>();
        for (String candidate : AUTO_JAVA) {
            ModelOptions options = ModelOptions.of(auto.device(), candidate, auto.maxPositions(), auto.premultiplyRouterHead());
            long need = need(config, options, maxBatchTokens, maxNumSeqs);
            tried.add(candidate + " needs " + gb(need) + " GB");
            if (need <= free) {
                return new AutoChoice(candidate, String.join("; ", tried) + " of the " + gb(free) + " GB free");
            }
        }
        return new AutoChoice(AUTO_JAVA.get(0), String.join("; ", tried) + ": none fits the " + gb(free) + " GB free");
    }

    /** Bytes still free for weights, KV and activations: the limit, less the reserve and what the process holds now. */
    long free() {
        return limitBytes - reserveBytes - residentBytes();
    }

    /**
     * Refuses, before any weight is read, a model whose weights, one full-length sequence's KV and its largest step
     * do not fit what is free.
     *
     * @throws MemoryBudgetException naming the need, what is free, and the CPU dtypes that would fit
     */
    void checkFits(String name, ModelConfig config, ModelOptions options, String dtype, int maxBatchTokens, int maxNumSeqs) {
        checkFits(name, config, options, dtype, maxBatchTokens, maxNumSeqs, free());
    }

    /** {@link #checkFits} against {@code free} bytes (tests give it; the service measures it). */
    void checkFits(String name, ModelConfig config, ModelOptions options, String dtype, int maxBatchTokens, int maxNumSeqs,
                   long free) {
        long need = need(config, options, maxBatchTokens, maxNumSeqs);
        if (need <= free) {
            return;
        }
        List<String> fit = new ArrayList<>();
        for (String candidate : CPU_DTYPES) {
            ModelOptions other;
            try {
                other = ModelOptions.of(options.device(), candidate, options.maxPositions(), options.premultiplyRouterHead());
            } catch (IllegalArgumentException unavailable) { // q8, q4 without the Vector API
                continue;
            }
            long otherNeed = need(config, other, maxBatchTokens, maxNumSeqs);
            if (otherNeed <= free) {
                fit.add(candidate + " (" + gb(otherNeed) + " GB)");
            }
        }
        throw new MemoryBudgetException(String.format(Locale.ROOT,
                "model %s as dtype %s needs %s GB (weights %s GB, KV for one %d-token sequence %s GB, a %d-token step"
                        + " %s GB) but %s GB is free (%s: %s GB, less the %s GB reserve and the %s GB this process holds). %s",
                name, dtype, gb(need), gb(MemoryEstimate.weightBytes(config, options)), positions(config, options),
                gb(kvBytes(config, options, positions(config, options))), maxBatchTokens,
                gb(MemoryEstimate.stepBytes(config, maxBatchTokens, maxNumSeqs, positions(config, options))), gb(free), source,
                gb(limitBytes),
                gb(reserveBytes), gb(residentBytes()),
                fit.isEmpty() ? "No CPU dtype fits: give the process more memory (flexiserve.memory.limit, the container's"
                        + " limit) or lower flexiserve.model.max-model-len."
                        : "Set flexiserve.model.dtype to one that fits: " + String.join(", ", fit)
                        + "; or give the process more memory."));
    }

    /**
     * KV cache tokens from what is free after loading, less the largest step: at most enough for max-num-seqs
     * full-length sequences, at least one full sequence. The split is logged by the caller.
     */
    int kvTokens(ModelConfig config, DataType kvDtype, int maxModelLen, int maxBatchTokens, int maxNumSeqs) {
        long room = free() - MemoryEstimate.stepBytes(config, maxBatchTokens, maxNumSeqs, maxModelLen);
        return kvTokensWithin(room, KvCache.bytesPerToken(config, kvDtype), maxModelLen, maxNumSeqs);
    }

    /** KV tokens that {@code bytes} hold: at most max-num-seqs full-length sequences, at least one. */
    static int kvTokensWithin(long bytes, long bytesPerToken, int maxModelLen, int maxNumSeqs) {
        long tokens = Math.min((long) maxNumSeqs * maxModelLen, bytes / bytesPerToken);
        return (int) Math.max(maxModelLen, Math.min(tokens, Integer.MAX_VALUE / 2));
    }

    String describe() {
        return gb(limitBytes) + " GB from " + source + ", " + gb(reserveBytes) + " GB reserved";
    }

    /** Gigabytes with two decimals below 10, one above. */
    static String gb(long bytes) {
        return String.format(Locale.ROOT, bytes < 10 * GB ? "%.2f" : "%.1f", bytes / GB);
    }

    private static long need(ModelConfig config, ModelOptions options, int maxBatchTokens, int maxNumSeqs) {
        return MemoryEstimate.weightBytes(config, options) + kvBytes(config, options, positions(config, options))
                + MemoryEstimate.stepBytes(config, maxBatchTokens, maxNumSeqs, positions(config, options));
    }

    private static int positions(ModelConfig config, ModelOptions options) {
        return options.maxPositions() > 0 ? options.maxPositions() : config.maxPositionEmbeddings();
    }

    private static long kvBytes(ModelConfig config, ModelOptions options, long tokens) {
        return tokens * KvCache.bytesPerToken(config, options.kvDtype(config));
    }

    /** The memory limit of this process's cgroup (v2 {@code memory.max}, v1 {@code memory.limit_in_bytes}), if one is set. */
    private static Optional<Long> cgroupLimit() {
        for (String file : List.of("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")) {
            try {
                String value = Files.readString(Path.of(file)).trim();
                if (!value.equals("max") && Long.parseLong(value) < (1L << 50)) { // v1 writes ~2^63 for "no limit"
                    return Optional.of(Long.parseLong(value));
                }
            } catch (IOException | NumberFormatException e) {
                // not this cgroup version, or no limit
            }
        }
        return Optional.empty();
    }

    /** This process's resident memory; 0 where /proc does not say. */
    public static long residentBytes() {
        return procField(Path.of("/proc/self/status"), "VmRSS:");
    }

    /** This process's peak resident memory so far; 0 where /proc does not say. */
    public static long peakResidentBytes() {
        return procField(Path.of("/proc/self/status"), "VmHWM:");
    }

    private static long meminfo(String field) {
        long value = procField(Path.of("/proc/meminfo"), field);
        if (value > 0) {
            return value;
        }
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getFreeMemorySize();
    }

    /** A "Name:   123 kB" field of a /proc file, in bytes; 0 when absent. */
    private static long procField(Path file, String field) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return 0;
    }
}
