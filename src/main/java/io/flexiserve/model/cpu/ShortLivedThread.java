package io.flexiserve.model.cpu;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Runs one piece of libtorch work on a thread of its own that ends with it, and waits for the result.
 *
 * <p>On CPU, a thread that once ran a parallel libtorch kernel keeps an OpenMP worker team for as long as it
 * lives, and once the process holds more such threads than cores, libgomp stops spin-waiting between kernels
 * in every team: each kernel of the serving engine then pays a thread wake-up (BENCHMARKS.md, "What limits these
 * figures", item "One OpenMP team per process"). Loading a model, measuring bandwidth or building a router set's tensors
 * on a long-lived thread (main, an HTTP worker) would leave such a team behind; here it goes with its thread.
 */
public final class ShortLivedThread {

    private ShortLivedThread() {
    }

    /** Calls {@code work} on a new thread named {@code name}; its exception, if any, is rethrown here. */
    public static <T> T call(String name, Callable<T> work) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                TorchThreads.useAll();
                result.complete(work.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        }, name);
        thread.setDaemon(true);
        thread.start();
        try {
            T value = result.get();
            thread.join(); // the thread, and so its OpenMP team, is gone when this returns
            return value;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(name + " interrupted", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(name + " failed: " + cause.getMessage(), cause);
        }
    }
}
