package io.flexiserve.bench;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/**
 * Waits, after a warm-up, until the JIT has stopped compiling, so that no timed pass shares the two cores with a C2
 * compiler thread. Two warm-up passes were not enough: C2 compiles the Vector API kernels in the background for a
 * second or more, and the first format {@code bench --kernels} timed read at half its speed in about half the runs
 * (f16 one row: 21-27 against 47-72 GB/s for the same format timed again in the same process).
 */
final class JitQuiet {

    /** Compilation time in one poll that counts as none: the odd small method compiled while the bench waits. */
    private static final long NOISE_MS = 5;
    private static final long POLL_MS = 250;
    /**
     * How long no compilation must end before timing starts. The JVM adds a compilation's time when it ends, so a
     * compilation that takes longer than this goes unseen; C2 compiles a Vector API kernel in well under a second.
     */
    private static final long QUIET_MS = 2_000;
    private static final long MAX_MS = 30_000;

    private JitQuiet() {
    }

    /**
     * Returns once no poll in {@link #QUIET_MS} has seen more than {@link #NOISE_MS} of compilation end, or after
     * {@link #MAX_MS} (a JVM that keeps compiling: the bench goes on and says so), or at once where the JVM does not
     * report its compilation time or the thread is interrupted.
     */
    static void await() {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            return;
        }
        long start = System.nanoTime();
        long quietSince = start;
        long compiled = jit.getTotalCompilationTime();
        while (elapsedMs(quietSince) < QUIET_MS) {
            if (elapsedMs(start) > MAX_MS) {
                System.err.println("the JIT is still compiling after " + MAX_MS / 1000 + " s; timing anyway");
                return;
            }
            try {
                Thread.sleep(POLL_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long now = jit.getTotalCompilationTime();
            if (now - compiled > NOISE_MS) {
                quietSince = System.nanoTime();
            }
            compiled = now;
        }
    }

    private static long elapsedMs(long since) {
        return (System.nanoTime() - since) / 1_000_000;
    }
}
