package io.flexiserve.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Decides each step's rows under a token budget, and nothing else (no tensors): every running sequence that is
 * decoding gets one row, sequences still reading their prompt get the next chunk, and waiting sequences are
 * admitted first-come first-served while KV blocks for their prompt, a sequence slot and budget remain. A
 * head-of-line sequence that does not fit blocks later ones, so large requests are not starved.
 *
 * <p>KV blocks are paged ({@link KvBlocks}): a sequence gets the blocks of its prompt at admission (the full ones
 * found in the prefix cache are shared, not recomputed) and one more block whenever its output fills the last.
 * When a decoding sequence needs a block and none is left, the newest running sequence is preempted: its blocks are
 * released and it waits at the head of the queue to recompute its prompt and output (vLLM's policy); nothing fails.
 */
final class Scheduler {

    private final int maxNumSeqs;
    private final int maxBatchTokens;
    private final KvBlocks kv;
    private final boolean prefixCaching;
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private long prefixQueryTokens;
    private long prefixHitTokens;
    private long preemptions;

    Scheduler(int maxNumSeqs, int maxBatchTokens, KvBlocks kv, boolean prefixCaching) {
        if (maxBatchTokens <= maxNumSeqs) {
            throw new IllegalArgumentException("max-batch-tokens " + maxBatchTokens + " must be more than max-num-seqs "
                    + maxNumSeqs + " so that every running sequence can decode and a prompt can start beside them");
        }
        this.maxNumSeqs = maxNumSeqs;
        this.maxBatchTokens = maxBatchTokens;
        this.kv = kv;
        this.prefixCaching = prefixCaching;
    }

    void add(Sequence sequence) {
        waiting.add(sequence);
    }

    /** This step's plan; empty when there is nothing to run. */
    List<ScheduledChunk> schedule() {
        List<ScheduledChunk> plan = new ArrayList<>();
        int budget = maxBatchTokens;
        for (Sequence s : List.copyOf(running)) {
            if (running.contains(s) && !s.prefilling() && roomFor(s)) {
                plan.add(new ScheduledChunk(s, s.cached, 1, true));
                budget--;
            }
        }
        for (Sequence s : running) {
            if (s.prefilling() && budget > 0) {
                budget -= prefill(s, budget, plan);
            }
        }
        // a sequence the budget left cannot start would hold its blocks and a slot for nothing
        while (running.size() < maxNumSeqs && !waiting.isEmpty() && chunkRows(waiting.peek(), budget) > 0
                && admit(waiting.peek())) {
            Sequence next = waiting.poll();
            if (next.scheduledNanos == 0) { // first admission (a preempted sequence comes back)
                next.scheduledNanos = System.nanoTime();
            }
            running.add(next);
            budget -= prefill(next, budget, plan);
        }
        return plan;
    }

    /** A slot for a decoding sequence's next token: a new block when its last is full, preempting for it if need be. */
    private boolean roomFor(Sequence s) {
        while (s.cached >= s.blockCount() * kv.blockSize) {
            int block = kv.allocate();
            if (block >= 0) {
                s.addBlock(block);
                continue;
            }
            Sequence newest = running.get(running.size() - 1);
            preempt(newest);
            if (newest == s) {
                return false;
            }
        }
        return true;
    }

    /**
     * Gives a waiting sequence the blocks of the tokens it must compute: the prompt's full blocks found in the prefix
     * cache are shared (but never the last token, whose logits it needs), the rest are new. False, holding nothing,
     * when the blocks are not there (one spare is kept, so that admission does not preempt at once).
     */
    private boolean admit(Sequence s) {
        int length = s.length();
        int matched = 0;
        int prompt = s.promptLength();
        if (prefixCaching) {
            int full = (prompt - 1) / kv.blockSize;
            for (int k = 0; k < full; k++) {
                int block = kv.lookup(s.promptBlockKey(k, kv.blockSize));
                if (block < 0) {
                    break;
                }
                s.addBlock(block);
                matched++;
            }
        }
        int needed = (length + kv.blockSize - 1) / kv.blockSize - matched;
        if (needed + 1 > kv.available() && !(running.isEmpty() && needed <= kv.available())) {
            release(s);
            return false;
        }
        for (int i = 0; i < needed; i++) {
            s.addBlock(kv.allocate());
        }
        s.cached = matched * kv.blockSize;
        s.cachedPromptTokens = Math.min(s.cached, prompt);
        if (prefixCaching) {
            prefixQueryTokens += prompt;
            prefixHitTokens += s.cachedPromptTokens;
        }
        return true;
    }

    /** Releases a running sequence's blocks and puts it first in line, to recompute what it had. */
    private void preempt(Sequence s) {
        running.remove(s);
        release(s);
        s.cached = 0;
        s.preemptions++;
        preemptions++;
        waiting.addFirst(s);
    }

    /**
     * The next chunk of a sequence's prompt. A single row that is not its last waits for more budget: a step of
     * single rows runs on the Java path, whose values must not enter a block the prefix cache keeps.
     */
    private static int prefill(Sequence s, int budget, List<ScheduledChunk> plan) {
        int count = chunkRows(s, budget);
        if (count > 0) {
            plan.add(new ScheduledChunk(s, s.cached, count, s.cached + count == s.length()));
        }
        return count;
    }

    /** The rows of a sequence's next prompt chunk within {@code budget}: 0 for a single row that is not its last. */
    private static int chunkRows(Sequence s, int budget) {
        int count = Math.min(s.pending(), budget);
        return count == 1 && s.pending() > 1 ? 0 : count;
    }

    /**
     * After a step ran {@code plan}: each chunk's rows are now in the KV cache, and {@code sampled[i]} (or nothing,
     * where it is negative) is the token chunk {@code i}'s sequence generated. Prompt blocks a chunk filled join the
     * prefix cache.
     */
    void update(List<ScheduledChunk> plan, int[] sampled) {
        for (int i = 0; i < plan.size(); i++) {
            Sequence s = plan.get(i).sequence();
            int before = s.cached;
            s.cached += plan.get(i).count();
            if (prefixCaching && plan.get(i).count() > 1 && !s.finished) { // a finished one's blocks are gone
                register(s, before);
            }
            if (sampled[i] >= 0) {
                s.append(sampled[i]);
            }
        }
    }

    /**
     * The prompt blocks a prefill chunk completed, as cached blocks. Only prompt blocks, only from prefill: a decode
     * step computes the same values by another path, rounded differently, and a cached block must give exactly what
     * recomputing it would.
     */
    private void register(Sequence s, int before) {
        int fullNow = Math.min(s.cached, s.promptLength()) / kv.blockSize;
        for (int k = before / kv.blockSize; k < fullNow; k++) {
            kv.register(s.block(k), s.promptBlockKey(k, kv.blockSize));
        }
    }

    /**
     * Gives a sequence's blocks back, last first: cached blocks are evicted least recently released first, and a
     * prefix's blocks are found only from its head on (each key chains its predecessors), so a prefix then loses its
     * tail before its head and stays reusable as far as it is kept (vLLM frees in the same order).
     */
    private void release(Sequence s) {
        int[] blocks = s.takeBlocks();
        for (int i = blocks.length - 1; i >= 0; i--) {
            kv.release(blocks[i]);
        }
    }

    /** Removes a finished or aborted sequence, releasing its KV blocks. */
    void remove(Sequence sequence) {
        if (running.remove(sequence)) {
            release(sequence);
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

    /** Preempted sequences waiting to be admitted again: admitted once, so still counted as running, not as queued. */
    int preemptedCount() {
        return (int) waiting.stream().filter(s -> s.preemptions > 0).count();
    }

    double kvUsage() {
        return (double) kv.inUse() / kv.count();
    }

    KvBlocks blocks() {
        return kv;
    }

    long prefixQueryTokens() {
        return prefixQueryTokens;
    }

    long prefixHitTokens() {
        return prefixHitTokens;
    }

    long preemptions() {
        return preemptions;
    }
}
