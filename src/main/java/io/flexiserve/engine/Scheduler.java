package io.flexiserve.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Decides each step's rows under a token budget, and nothing else (no tensors): every running sequence
 * that is decoding gets one row, sequences still reading their prompt get the next chunk, and waiting
 * sequences are admitted first-come first-served while a KV range, a sequence slot and budget remain.
 * A head-of-line sequence that does not fit blocks later ones, so large requests are not starved.
 */
final class Scheduler {

    private final int maxNumSeqs;
    private final int maxBatchTokens;
    private final KvAllocator kv;
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();

    Scheduler(int maxNumSeqs, int maxBatchTokens, KvAllocator kv) {
        if (maxBatchTokens < maxNumSeqs) {
            throw new IllegalArgumentException("max-batch-tokens " + maxBatchTokens
                    + " must be at least max-num-seqs " + maxNumSeqs + " so that every running sequence can decode");
        }
        this.maxNumSeqs = maxNumSeqs;
        this.maxBatchTokens = maxBatchTokens;
        this.kv = kv;
    }

    void add(Sequence sequence) {
        waiting.add(sequence);
    }

    /** This step's plan; empty when there is nothing to run. */
    List<ScheduledChunk> schedule() {
        List<ScheduledChunk> plan = new ArrayList<>();
        int budget = maxBatchTokens;
        for (Sequence s : running) {
            if (!s.prefilling()) {
                plan.add(new ScheduledChunk(s, s.cached, 1, true));
                budget--;
            }
        }
        for (Sequence s : running) {
            if (s.prefilling() && budget > 0) {
                budget -= prefill(s, budget, plan);
            }
        }
        while (budget > 0 && running.size() < maxNumSeqs && !waiting.isEmpty()) {
            Sequence next = waiting.peek();
            int offset = kv.allocate(next.request.kvTokens());
            if (offset < 0) {
                break;
            }
            waiting.poll();
            next.kvOffset = offset;
            next.scheduledNanos = System.nanoTime();
            running.add(next);
            budget -= prefill(next, budget, plan);
        }
        return plan;
    }

    private static int prefill(Sequence s, int budget, List<ScheduledChunk> plan) {
        int count = Math.min(s.pending(), budget);
        plan.add(new ScheduledChunk(s, s.cached, count, s.cached + count == s.length()));
        return count;
    }

    /**
     * After a step ran {@code plan}: each chunk's rows are now in the KV cache, and {@code sampled[i]} (or nothing,
     * where it is negative) is the token chunk {@code i}'s sequence generated.
     */
    void update(List<ScheduledChunk> plan, int[] sampled) {
        for (int i = 0; i < plan.size(); i++) {
            Sequence s = plan.get(i).sequence();
            s.cached += plan.get(i).count();
            if (sampled[i] >= 0) {
                s.append(sampled[i]);
            }
        }
    }

    /** Removes a finished or aborted sequence, freeing its KV rows. */
    void remove(Sequence sequence) {
        if (running.remove(sequence)) {
            kv.release(sequence.kvOffset, sequence.request.kvTokens());
        } else {
            waiting.remove(sequence);
        }
    }

    List<Sequence> all() {
        List<Sequence> all = new ArrayList<>(running);
        all.addAll(waiting);
        return all;
    }

    int runningCount() {
        return running.size();
    }

    int waitingCount() {
        return waiting.size();
    }

    double kvUsage() {
        return (double) kv.used() / kv.capacity();
    }
}
