package io.flexiserve.model.cpu;

import ai.djl.pytorch.jni.JniUtils;

/**
 * libtorch's intra-op thread count, which on CPU is a property of each calling thread (an OpenMP setting).
 *
 * <p>A model whose batched steps run on {@link VectorGemm} calls its libtorch kernels with one thread during those
 * steps: libtorch's OpenMP worker spin-waits for a while after every parallel kernel, and did so on the core the
 * Java kernels' helper needed (BENCHMARKS.md, "What limits these figures", item "One OpenMP team per process").
 * Single-row steps keep every core for libtorch's matvec.
 *
 * <p>A catch: libtorch also records the last count set as the default for threads that have not used it yet. So a
 * thread that starts libtorch work of its own (loading, training) calls {@link #useAll()} first.
 */
public final class TorchThreads {

    /** libtorch's own default: one thread per core. */
    public static final int ALL = Runtime.getRuntime().availableProcessors();

    private static volatile boolean narrowed; // whether any thread ever asked for fewer than ALL

    private TorchThreads() {
    }

    /** Sets the calling thread's count, if it differs. */
    public static void use(int threads) {
        if (threads < ALL) {
            narrowed = true;
        }
        if (JniUtils.getNumThreads() != threads) {
            JniUtils.setNumThreads(threads);
        }
    }

    /** Gives the calling thread every core again, if any thread narrowed its count before. */
    public static void useAll() {
        if (narrowed) {
            use(ALL);
        }
    }
}
