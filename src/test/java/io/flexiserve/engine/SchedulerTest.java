package io.flexiserve.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        return new Sequence(new GenerationRequest(new int[promptLength], SamplingParams.GREEDY, maxTokens, Set.of(), 0.5f, -1),
                NO_SINK, null);
    }

    /** The engine's update after a step: a token (7) sampled for every chunk that took logits. */
    private static void ran(Scheduler scheduler, List<ScheduledChunk> plan) {
        scheduler.update(plan, plan.stream().mapToInt(c -> c.wantLogits() ? 7 : -1).toArray());
    }

    @Test
    void longPromptIsChunkedUnderTheTokenBudgetWhileOthersDecode() {
        Scheduler scheduler = new Scheduler(4, 8, new KvAllocator(1000));
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
    void admissionStopsAtKvCapacityAndSequenceLimitInArrivalOrder() {
        Scheduler scheduler = new Scheduler(2, 64, new KvAllocator(30));
        Sequence a = sequence(5, 10);   // needs 14 rows
        Sequence b = sequence(5, 20);   // needs 24 rows: does not fit beside a
        Sequence c = sequence(5, 5);    // needs 9: fits now beside a, but must not overtake b
        scheduler.add(a);
        scheduler.add(b);
        scheduler.add(c);
        List<ScheduledChunk> plan = scheduler.schedule();
        assertEquals(List.of(a), plan.stream().map(ScheduledChunk::sequence).toList());
        assertEquals(2, scheduler.waitingCount());
        scheduler.remove(a);
        assertEquals(0.0, scheduler.kvUsage(), "a's rows are free again");
        List<ScheduledChunk> next = scheduler.schedule();
        assertEquals(List.of(b), next.stream().map(ScheduledChunk::sequence).toList(), "b first, and c does not fit beside it");
    }

    @Test
    void batchBudgetMustCoverEveryRunningSequence() {
        assertThrows(IllegalArgumentException.class, () -> new Scheduler(8, 4, new KvAllocator(100)));
    }
}
