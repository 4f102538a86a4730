package io.flexiserve.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The scheduler as a pure state machine over fake sequences: no model, no tensors. */
class SchedulerTest {

    private static final TokenSink NO_SINK = new TokenSink() {
        @Override
        public boolean onToken(GeneratedToken token) {
            return true;
        }

        @Override
        public void onFinish(FinishReason reason, SequenceStats stats) {
        }

        @Override
        public void onError(String message) {
        }
    };

    private static Sequence sequence(int promptLength, int maxTokens) {
        return sequence(new int[promptLength], maxTokens, 0.5f);
    }

    private static Sequence sequence(int[] prompt, int maxTokens, float threshold) {
        return new Sequence(new GenerationRequest(prompt, SamplingParams.GREEDY, maxTokens, Set.of(), threshold, -1),
                NO_SINK, null);
    }

    private static int[] prompt(int length, int seed) {
        int[] ids = new int[length];
        for (int i = 0; i < length; i++) {
            ids[i] = (i * 31 + seed) % 100;
        }
        return ids;
    }

    /** The engine's update after a step: a token (7) sampled for every chunk that took logits. */
    private static void ran(Scheduler scheduler, List<ScheduledChunk> plan) {
        scheduler.update(plan, plan.stream().mapToInt(c -> c.wantLogits() ? 7 : -1).toArray());
    }

    @Test
    void longPromptIsChunkedUnderTheTokenBudgetWhileOthersDecode() {
        Scheduler scheduler = new Scheduler(4, 8, new KvBlocks(64, 4), false);
        Sequence shortOne = sequence(3, 10);
        Sequence longOne = sequence(20, 10);
        scheduler.add(shortOne);
        scheduler.add(longOne);
        List<ScheduledChunk> first = scheduler.schedule();
        assertEquals(List.of(3, 5), first.stream().map(ScheduledChunk::count).toList(), "3 prompt rows, then 5 of the long one");
        assertTrue(first.get(0).wantLogits());
        assertTrue(!first.get(1).wantLogits(), "a partial prefill wants no logits");
        ran(scheduler, first);
        assertEquals(List.of(3, 5), List.of(shortOne.cached, longOne.cached), "update: each chunk's rows are cached");
        assertEquals(List.of(1, 0), List.of(shortOne.generated(), longOne.generated()), "a token only where logits were taken");
        List<ScheduledChunk> second = scheduler.schedule();
        assertEquals(shortOne, second.get(0).sequence(), "decode rows come first");
        assertEquals(1, second.get(0).count());
        assertEquals(7, second.get(1).count(), "the long prompt continues with the rest of the budget");
        assertEquals(5, second.get(1).from());
    }

    @Test
    void admissionTakesThePromptsBlocksInArrivalOrder() {
        KvBlocks blocks = new KvBlocks(6, 4);
        Scheduler scheduler = new Scheduler(4, 64, blocks, false);
        Sequence a = sequence(5, 100);  // 2 blocks now, however long its output may grow
        Sequence b = sequence(20, 10);  // 5 blocks: not beside a (one block stays spare)
        Sequence c = sequence(5, 5);    // 2 blocks would fit beside a, but c must not overtake b
        scheduler.add(a);
        scheduler.add(b);
        scheduler.add(c);
        List<ScheduledChunk> plan = scheduler.schedule();
        assertEquals(List.of(a), plan.stream().map(ScheduledChunk::sequence).toList());
        assertEquals(2, blocks.inUse());
        assertEquals(2, scheduler.waitingCount());
        scheduler.remove(a);
        assertEquals(0, blocks.inUse(), "a's blocks are free again");
        assertEquals(List.of(b), scheduler.schedule().stream().map(ScheduledChunk::sequence).toList(),
                "b first, and c does not fit beside it");
    }

    @Test
    void aDecodingSequenceGetsABlockWhenItsLastIsFull() {
        KvBlocks blocks = new KvBlocks(8, 4);
        Scheduler scheduler = new Scheduler(2, 64, blocks, false);
        Sequence a = sequence(4, 20);
        scheduler.add(a);
        ran(scheduler, scheduler.schedule()); // prompt: positions 0-3, one block; the sampled token waits at 4
        assertEquals(1, a.blockCount());
        ran(scheduler, scheduler.schedule());
        assertEquals(2, a.blockCount(), "position 4 opened a second block");
        for (int i = 0; i < 3; i++) {
            ran(scheduler, scheduler.schedule());
        }
        assertEquals(2, a.blockCount(), "positions 5-7 fit in it");
        ran(scheduler, scheduler.schedule());
        assertEquals(3, a.blockCount());
    }

    @Test
    void withoutABlockTheNewestSequenceIsPreemptedAndLaterRecomputesWhatItHad() {
        KvBlocks blocks = new KvBlocks(4, 4);
        Scheduler scheduler = new Scheduler(2, 64, blocks, false);
        Sequence old = sequence(4, 40);
        Sequence young = sequence(3, 40);
        scheduler.add(old);
        scheduler.add(young);
        ran(scheduler, scheduler.schedule()); // both prefilled: a block each; two left
        for (int step = 0; step < 8 && young.preemptions == 0; step++) {
            ran(scheduler, scheduler.schedule());
        }
        assertEquals(1, young.preemptions, "the newest gave its blocks up");
        assertEquals(0, old.preemptions);
        assertEquals(0, young.cached);
        assertEquals(1, scheduler.waitingCount());
        assertEquals(1, scheduler.preemptedCount(), "admitted once: the engine still counts it as running");
        int generated = young.generated();
        assertTrue(generated > 0);
        scheduler.remove(old); // blocks come back: the preempted one is first in line
        List<ScheduledChunk> plan = scheduler.schedule();
        assertEquals(young, plan.get(0).sequence());
        assertEquals(young.length(), plan.get(0).count(), "its prompt and output, computed again in one chunk");
        assertTrue(plan.get(0).wantLogits(), "then it goes on where it stopped");
        assertEquals(0, scheduler.preemptedCount());
        ran(scheduler, plan);
        assertEquals(generated + 1, young.generated());
        scheduler.remove(young);
        assertEquals(0, blocks.inUse());
        assertEquals(4, blocks.free());
    }

    @Test
    void aPromptStartingLikeAnEarlierOneSharesItsFullBlocksButNotAcrossThresholds() {
        KvBlocks blocks = new KvBlocks(32, 4);
        Scheduler scheduler = new Scheduler(4, 64, blocks, true);
        int[] shared = prompt(10, 1);
        Sequence first = sequence(shared, 5, 0.5f);
        scheduler.add(first);
        ran(scheduler, scheduler.schedule());
        assertEquals(0, first.cachedPromptTokens);
        int[] longer = Arrays.copyOf(shared, 14);
        longer[12] = 99;
        Sequence second = sequence(longer, 5, 0.5f);
        Sequence otherThreshold = sequence(shared, 5, 0.7f);
        scheduler.add(second);
        scheduler.add(otherThreshold);
        List<ScheduledChunk> plan = scheduler.schedule();
        assertEquals(8, second.cachedPromptTokens, "two full blocks of the 10 shared tokens");
        assertEquals(first.block(0), second.block(0), "shared, not copied");
        assertEquals(first.block(1), second.block(1));
        assertEquals(0, otherThreshold.cachedPromptTokens, "another threshold routes otherwise: nothing shared");
        ScheduledChunk secondChunk = plan.stream().filter(c -> c.sequence() == second).findFirst().orElseThrow();
        assertEquals(8, secondChunk.from(), "only the rest is computed");
        ran(scheduler, plan);
        Sequence again = sequence(shared, 5, 0.5f);
        scheduler.remove(first);
        scheduler.remove(second);
        scheduler.remove(otherThreshold);
        assertEquals(0, blocks.inUse());
        assertTrue(blocks.cachedUnused() >= 2, "their full prompt blocks stay cached");
        scheduler.add(again);
        scheduler.schedule();
        assertEquals(8, again.cachedPromptTokens, "found after its users finished");
        assertEquals(16, scheduler.prefixHitTokens(), "8 and 8 tokens found");
        assertEquals(10 + 14 + 10 + 10, scheduler.prefixQueryTokens(), "of every prompt looked up");
    }

    @Test
    void cachedBlocksNobodyUsesAreEvictedLeastRecentlyUsedFirst() {
        KvBlocks blocks = new KvBlocks(3, 4);
        BlockKey a = BlockKey.of(null, new int[] {1, 2, 3, 4}, 0, 4, 0.5f);
        BlockKey b = BlockKey.of(null, new int[] {5, 6, 7, 8}, 0, 4, 0.5f);
        int blockA = blocks.allocate();
        int blockB = blocks.allocate();
        blocks.register(blockA, a);
        blocks.register(blockB, b);
        blocks.release(blockA);
        blocks.release(blockB);
        assertEquals(2, blocks.cachedUnused());
        assertEquals(blockA, blocks.lookup(a), "a is used again: b is now the least recently used");
        blocks.release(blockA);
        blocks.allocate(); // the never-written third block goes before any cached one
        int evicted = blocks.allocate();
        assertEquals(blockB, evicted);
        assertEquals(-1, blocks.lookup(b), "an evicted block is no longer found");
        assertEquals(blockA, blocks.lookup(a));
        assertThrows(IllegalStateException.class, () -> {
            blocks.release(evicted);
            blocks.release(evicted);
        }, "a block released more often than used");
    }

    /** Keys chain their predecessors: evicting a prefix's head first would strand the rest of it. */
    @Test
    void evictionTakesACachedPrefixFromItsTailSoItsHeadStaysReusable() {
        KvBlocks blocks = new KvBlocks(4, 4);
        Scheduler scheduler = new Scheduler(2, 64, blocks, true);
        int[] prompt = prompt(13, 3); // three full blocks and a partial one: all four blocks of the cache
        Sequence first = sequence(prompt, 2, 0.5f);
        scheduler.add(first);
        ran(scheduler, scheduler.schedule());
        int head = first.block(0);
        scheduler.remove(first);
        assertEquals(3, blocks.cachedUnused(), "the three full prompt blocks stay cached");
        Sequence other = sequence(prompt(5, 50), 2, 0.5f); // needs two blocks: the free one and one evicted
        scheduler.add(other);
        scheduler.schedule();
        scheduler.remove(other);
        Sequence again = sequence(prompt, 2, 0.5f);
        scheduler.add(again);
        scheduler.schedule();
        assertEquals(head, again.block(0));
        assertEquals(8, again.cachedPromptTokens, "the head two blocks found; only the evicted tail is recomputed");
    }

    @Test
    void aSequenceThatEndsInTheStepOfItsPromptLeavesNothingCached() {
        KvBlocks blocks = new KvBlocks(8, 4);
        Scheduler scheduler = new Scheduler(2, 64, blocks, true);
        Sequence s = sequence(prompt(12, 7), 5, 0.5f);
        scheduler.add(s);
        List<ScheduledChunk> plan = scheduler.schedule();
        s.finished = true; // as the engine does when the first token is a stop id: it finishes, releasing its blocks
        scheduler.remove(s);
        scheduler.update(plan, new int[] {-1});
        assertEquals(0, blocks.inUse());
        assertEquals(0, blocks.cachedUnused(), "freed blocks are not registered as a prefix");
        assertEquals(8, blocks.free());
    }

    @Test
    void aSingleRowThatIsNotThePromptsLastWaitsForBudget() {
        Scheduler scheduler = new Scheduler(4, 5, new KvBlocks(16, 4), true);
        Sequence decoding = sequence(3, 10);
        scheduler.add(decoding);
        ran(scheduler, scheduler.schedule());
        Sequence a = sequence(3, 10);
        Sequence b = sequence(9, 10);
        scheduler.add(a);
        scheduler.add(b);
        List<ScheduledChunk> plan = scheduler.schedule(); // 1 decode row + a's 3: one row of budget is left for b
        assertEquals(List.of(decoding, a), plan.stream().map(ScheduledChunk::sequence).toList(),
                "b's first chunk would be one row of nine: on the decode path, so it waits");
        assertEquals(2, scheduler.runningCount(), "nor is b admitted to hold blocks for nothing");
        ran(scheduler, plan);
        assertEquals(List.of(1, 1, 3), scheduler.schedule().stream().map(ScheduledChunk::count).toList());
    }

    @Test
    void blocksWrittenBeforeAreReusedBeforeNeverWrittenOnes() {
        KvBlocks blocks = new KvBlocks(8, 4);
        int a = blocks.allocate();
        int b = blocks.allocate();
        assertEquals(List.of(0, 1), List.of(a, b), "in order at first");
        blocks.release(a);
        blocks.release(b);
        assertEquals(b, blocks.allocate(), "the most recently freed first");
        assertEquals(a, blocks.allocate());
        assertEquals(2, blocks.allocate(), "then a never-written one");
        assertEquals(5, blocks.free());
    }

    @Test
    void batchBudgetMustCoverEveryRunningSequence() {
        assertThrows(IllegalArgumentException.class, () -> new Scheduler(8, 4, new KvBlocks(100, 16), true));
        assertThrows(IllegalArgumentException.class, () -> new Scheduler(1, 1, new KvBlocks(100, 16), true),
                "one row a step could never start a prompt of two");
    }
}
