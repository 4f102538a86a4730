package io.flexiserve.model.cpu;

import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * The helper threads that share the Java kernels' work ({@link VectorGemm}'s products, {@link JavaAttention}'s
 * attention) with the calling thread.
 *
 * <p>A decode step calls seven products per layer back to back, each a millisecond or less at one row; waking a
 * parked thread for each costs a noticeable share of that (BENCHMARKS.md, "What limits these figures", "Kernel
 * choices"). So a helper spins for
 * {@link #SPIN_NANOS} after each part before it parks, as OpenMP's workers do. The helpers never run libtorch code,
 * so they own no OpenMP team (see {@link ShortLivedThread}).
 *
 * <p>One caller at a time gets the helpers; a product that finds them busy (a second engine working at the same
 * moment) runs all its parts on its own thread instead of waiting.
 */
public final class GemmHelpers {

    /** How long an idle helper spins for the next part before it parks. */
    static final long SPIN_NANOS = 1_000_000;

    private final Worker[] workers;
    private final ReentrantLock inUse = new ReentrantLock();

    /** The process's helpers, one per core beyond the caller's, started with the first use. */
    public static GemmHelpers shared() {
        return Shared.INSTANCE;
    }

    private static final class Shared {
        static final GemmHelpers INSTANCE = new GemmHelpers(Runtime.getRuntime().availableProcessors() - 1,
                "flexiserve-gemm");
    }

    GemmHelpers(int count, String name) {
        workers = new Worker[count];
        for (int i = 0; i < count; i++) {
            workers[i] = new Worker();
            Thread thread = new Thread(workers[i], name + "-" + (i + 1));
            thread.setDaemon(true);
            workers[i].thread = thread;
            thread.start();
        }
    }

    /** Threads a product can be split over: the helpers and the caller. */
    public int threads() {
        return workers.length + 1;
    }

    /**
     * Runs {@code part.accept(i)} for every {@code i < parts} ({@code parts <= threads()}): part 0 on the calling
     * thread, the others on helpers, and returns once all have finished. A failure in any part is rethrown here,
     * after every part has ended.
     */
    public void run(int parts, IntConsumer part) {
        if (parts > threads()) {
            throw new IllegalArgumentException(parts + " parts for " + threads() + " threads");
        }
        if (parts == 1 || !inUse.tryLock()) {
            for (int i = 0; i < parts; i++) {
                part.accept(i);
            }
            return;
        }
        try {
            for (int i = 1; i < parts; i++) {
                workers[i - 1].start(i, part);
            }
            Throwable failure = null;
            try {
                part.accept(0);
            } catch (RuntimeException | Error e) {
                failure = e;
            }
            for (int i = 1; i < parts; i++) {
                Throwable helperFailure = workers[i - 1].await();
                failure = failure == null ? helperFailure : failure;
            }
            if (failure instanceof RuntimeException e) {
                throw e;
            }
            if (failure instanceof Error e) {
                throw e;
            }
        } finally {
            inUse.unlock();
        }
    }

    private static final class Worker implements Runnable {
        private Thread thread;
        private volatile IntConsumer work; // set by the caller, cleared by the worker when its part is done
        private volatile int index;
        private volatile Throwable failure;

        void start(int index, IntConsumer work) {
            this.failure = null;
            this.index = index;
            this.work = work; // published last: the worker reads work, then index
            LockSupport.unpark(thread);
        }

        Throwable await() {
            long spun = System.nanoTime();
            while (work != null) {
                if (System.nanoTime() - spun < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield(); // the helper was descheduled: let it have the core
                }
            }
            return failure;
        }

        @Override
        public void run() {
            while (true) {
                IntConsumer w = work;
                long until = System.nanoTime() + SPIN_NANOS;
                while (w == null && System.nanoTime() < until) {
                    Thread.onSpinWait();
                    w = work;
                }
                if (w == null) {
                    LockSupport.park(this);
                    continue;
                }
                try {
                    w.accept(index);
                } catch (Throwable e) {
                    failure = e;
                }
                work = null; // publishes the part's writes and its failure to the caller
            }
        }
    }
}
