package io.flexiserve.engine;

import io.flexiserve.model.FlexiDepthModel;
import io.flexiserve.model.ModelConfig;
import io.flexiserve.model.ModelLoader;
import io.flexiserve.model.ModelOptions;
import io.flexiserve.model.checkpoint.CheckpointGenerator;
import io.flexiserve.model.checkpoint.TensorDtype;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The engine loop on a tiny real model: batching, stop rules, cancellation, admission limits. */
class EngineTest {

    @TempDir
    static Path dir;
    private static FlexiDepthModel model;

    @BeforeAll
    static void load() throws Exception {
        ModelConfig config = ModelConfig.builder().hidden(64).intermediate(128).layers(4).heads(4, 2).headDim(16).vocab(96)
                .rope(10000.0, null).maxPositions(256).routed(List.of(2, 3)).specialTokens(1, List.of(2)).build();
        CheckpointGenerator.write(dir, new CheckpointGenerator.Spec(config, TensorDtype.F32, 11, 1, 1.5));
        model = ModelLoader.load(dir, ModelOptions.cpu());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** A sink that records tokens, the layers each used and the stats, and completes with the finish reason. */
    static class Recorder implements TokenSink {
        final List<Integer> tokens = new ArrayList<>();
        final List<Integer> layers = new ArrayList<>();
        final CompletableFuture<FinishReason> done = new CompletableFuture<>();
        final int stopAfter;
        volatile SequenceStats stats;

        Recorder(int stopAfter) {
            this.stopAfter = stopAfter;
        }

        @Override
        public boolean onToken(GeneratedToken token) {
            tokens.add(token.id());
            layers.add(token.layersUsed());
            return tokens.size() != stopAfter;
        }

        @Override
        public void onFinish(FinishReason reason, SequenceStats stats) {
            this.stats = stats;
            done.complete(reason);
        }

        @Override
        public void onError(String message) {
            done.completeExceptionally(new IllegalStateException(message));
        }

        FinishReason await() throws Exception {
            return done.get(60, TimeUnit.SECONDS);
        }
    }

    /** Waits (at most 60 s) for {@code condition}, failing with {@code what}. */
    private static void awaitTrue(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "not within 60 s: " + what);
            Thread.sleep(5);
        }
    }

    private static GenerationRequest greedy(int[] prompt, int maxTokens, Set<Integer> stop) {
        return new GenerationRequest(prompt, SamplingParams.GREEDY, maxTokens, stop, 0.5f, -1);
    }

    @Test
    void concurrentSequencesGiveTheSameGreedyOutputAsAlone() throws Exception {
        try (Engine engine = new Engine(model, new EngineConfig(8, 64, 16, 2048, 256), "t")) {
            Recorder alone = new Recorder(-1);
            engine.submit(greedy(new int[] {5, 6, 7, 8}, 12, Set.of()), alone);
            assertEquals(FinishReason.LENGTH, alone.await());
            List<Recorder> others = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                Recorder r = new Recorder(-1);
                engine.submit(greedy(new int[] {10 + i, 20, 30 + i, 40, 50, 60 - i}, 20, Set.of()), r);
                others.add(r);
            }
            Recorder batched = new Recorder(-1);
            engine.submit(greedy(new int[] {5, 6, 7, 8}, 12, Set.of()), batched);
            assertEquals(FinishReason.LENGTH, batched.await());
            for (Recorder r : others) {
                assertEquals(FinishReason.LENGTH, r.await());
                assertEquals(20, r.tokens.size());
            }
            assertEquals(alone.tokens, batched.tokens);
            assertEquals(12, alone.tokens.size());
        }
    }

    @Test
    void stopIdsAndTheSinkEndASequenceWithStop() throws Exception {
        try (Engine engine = new Engine(model, new EngineConfig(4, 64, 16, 1024, 256), "t")) {
            Recorder probe = new Recorder(-1);
            engine.submit(greedy(new int[] {1, 2, 3}, 6, Set.of()), probe);
            probe.await();
            int third = probe.tokens.get(2);
            Recorder stopped = new Recorder(-1);
            engine.submit(greedy(new int[] {1, 2, 3}, 6, Set.of(third)), stopped);
            assertEquals(FinishReason.STOP, stopped.await());
            assertEquals(probe.tokens.subList(0, probe.tokens.indexOf(third)), stopped.tokens, "the stop id is not emitted");
            Recorder sinkStop = new Recorder(2);
            engine.submit(greedy(new int[] {1, 2, 3}, 6, Set.of()), sinkStop);
            assertEquals(FinishReason.STOP, sinkStop.await());
            assertEquals(2, sinkStop.tokens.size());
        }
    }

    @Test
    void cancelFreesTheSequenceAndItsKvRows() throws Exception {
        try (Engine engine = new Engine(model, new EngineConfig(4, 64, 16, 1024, 256), "t")) {
            Recorder r = new Recorder(-1);
            engine.slowSteps(20); // the 240 tokens take at least 4.8 s: the cancel comes while they run
            SequenceHandle handle = engine.submit(greedy(new int[] {1, 2, 3}, 240, Set.of()), r);
            awaitTrue(() -> r.tokens.size() >= 3, "three tokens");
            assertTrue(engine.stats().kvUsage() > 0, "a running sequence holds KV rows");
            handle.cancel();
            assertEquals(FinishReason.ABORT, r.await());
            awaitTrue(() -> engine.stats().running() == 0 && engine.stats().kvUsage() == 0, "the cancelled sequence is freed");
            assertIdle(engine.stats(), "");
        }
    }

    @Test
    void aFailingStepFailsItsSequencesOnlyAndTheEngineCarriesOn() throws Exception {
        try (Engine engine = new Engine(model, new EngineConfig(4, 64, 16, 1024, 256), "t")) {
            Recorder warm = new Recorder(-1);
            engine.submit(greedy(new int[] {1, 2, 3}, 2, Set.of()), warm);
            warm.await();
            engine.failNextStep(new IllegalStateException("injected fault: drill"));
            Recorder a = new Recorder(-1);
            engine.submit(greedy(new int[] {4, 5}, 50, Set.of()), a); // the only sequence of the failing step
            java.util.concurrent.ExecutionException failedA = assertThrows(java.util.concurrent.ExecutionException.class, a::await);
            assertTrue(failedA.getCause().getMessage().contains("injected fault: drill"), failedA.getCause().getMessage());
            Recorder after = new Recorder(-1);
            engine.submit(greedy(new int[] {1, 2, 3}, 5, Set.of()), after);
            assertEquals(FinishReason.LENGTH, after.await());
            assertEquals(5, after.tokens.size());
            awaitTrue(() -> engine.stats().kvUsage() == 0, "failed sequences give their KV rows back");
            assertEquals(0.0, engine.stats().kvUsage(), "failed sequences gave their KV rows back");
        }
    }

    @Test
    void anErrorInAStepFailsEverySequenceAndTheEngineRefusesNewWork() throws Exception {
        // one sequence per step: the first runs into the error, the second is still waiting for a slot
        try (Engine engine = new Engine(model, new EngineConfig(1, 64, 16, 1024, 256), "t")) {
            engine.slowSteps(20);
            Recorder running = new Recorder(-1);
            engine.submit(greedy(new int[] {1, 2, 3}, 200, Set.of()), running);
            Recorder waiting = new Recorder(-1);
            engine.submit(greedy(new int[] {4, 5}, 200, Set.of()), waiting);
            awaitTrue(() -> !running.tokens.isEmpty(), "the first sequence runs");
            engine.failNextStep(new OutOfMemoryError("injected: Java heap space"));
            for (Recorder r : List.of(running, waiting)) {
                java.util.concurrent.ExecutionException failed = assertThrows(java.util.concurrent.ExecutionException.class, r::await);
                assertTrue(failed.getCause().getMessage().contains("OutOfMemoryError"), failed.getCause().getMessage());
            }
            assertTrue(engine.failure().contains("OutOfMemoryError: injected: Java heap space"), engine.failure());
            EngineFailedException refused = assertThrows(EngineFailedException.class,
                    () -> engine.submit(greedy(new int[] {1}, 2, Set.of()), new Recorder(-1)));
            assertTrue(refused.getMessage().contains("restart"), refused.getMessage());
            assertIdle(engine.stats(), "nothing counted as running or waiting");
        }
    }

    @Test
    void fullQueueRefusesAndOversizedRequestsAreRejected() throws Exception {
        try (Engine engine = new Engine(model, new EngineConfig(1, 16, 1, 256, 256), "t")) {
            Recorder first = new Recorder(-1);
            engine.slowSteps(20); // the first sequence runs at least 4 s: the others meet a full engine
            SequenceHandle running = engine.submit(greedy(new int[] {1, 2}, 200, Set.of()), first);
            awaitTrue(() -> engine.stats().running() > 0, "the first sequence is admitted");
            engine.submit(greedy(new int[] {1, 2}, 10, Set.of()), new Recorder(-1)); // waits: the only slot is taken
            assertThrows(EngineOverloadedException.class, () -> engine.submit(greedy(new int[] {1}, 10, Set.of()), new Recorder(-1)));
            assertThrows(IllegalArgumentException.class, () -> engine.submit(greedy(new int[] {1, 2, 3}, 254, Set.of()), new Recorder(-1)),
                    "3 + 254 > 256 context");
            running.cancel();
            first.await();
        }
    }
    @Test
    void theEngineThreadEndsWhenIdleAndTheNextRequestStartsOne() throws Exception {
        try (Engine engine = new Engine(model, new EngineConfig(4, 64, 4, 256, 128), "idle-test")) {
            assertEquals(0, engineThreads("idle-test"), "no thread before the first request");
            Recorder first = new Recorder(-1);
            engine.submit(greedy(new int[] {1, 2, 3}, 4, Set.of()), first);
            assertEquals(FinishReason.LENGTH, first.await());
            long deadline = System.nanoTime() + 10 * Engine.IDLE_EXIT_MS * 1_000_000;
            while (engineThreads("idle-test") > 0) { // it holds libtorch's OpenMP team only while it works
                assertTrue(System.nanoTime() < deadline, "the idle engine thread never ended");
                Thread.sleep(50);
            }
            Recorder second = new Recorder(-1);
            engine.submit(greedy(new int[] {1, 2, 3}, 4, Set.of()), second);
            assertEquals(FinishReason.LENGTH, second.await());
            assertEquals(first.tokens, second.tokens, "the new thread serves as the old one did");
        }
    }

    /** Closed under work (shutdown past its grace, a model removed): no client is left waiting for an answer. */
    @Test
    void closingABusyEngineTellsEveryUncancelledSequenceItStopped() throws Exception {
        Engine engine = new Engine(model, new EngineConfig(1, 64, 16, 1024, 256), "t");
        engine.slowSteps(20); // one sequence a step: the first runs for seconds, the second waits for its slot
        Recorder running = new Recorder(-1);
        engine.submit(greedy(new int[] {1, 2, 3}, 200, Set.of()), running);
        Recorder waiting = new Recorder(-1);
        engine.submit(greedy(new int[] {4, 5}, 200, Set.of()), waiting);
        Recorder cancelled = new Recorder(-1);
        engine.submit(greedy(new int[] {6, 7}, 200, Set.of()), cancelled).cancel();
        awaitTrue(() -> !running.tokens.isEmpty(), "the first sequence runs");
        engine.close();
        for (Recorder r : List.of(running, waiting)) {
            java.util.concurrent.ExecutionException stopped = assertThrows(java.util.concurrent.ExecutionException.class,
                    r::await);
            assertEquals(Engine.STOPPED, stopped.getCause().getMessage());
        }
        assertEquals(FinishReason.ABORT, cancelled.await(), "its client went: nothing to tell");
        assertIdle(engine.stats(), "after close");
    }

    /** A step that outlives close's wait still reads the model: the engine says so until the step has ended. */
    @Test
    void anEngineClosedDuringALongStepIsNotStoppedUntilTheStepEnds() throws Exception {
        Engine engine = new Engine(model, new EngineConfig(1, 64, 16, 1024, 256), "t");
        java.util.concurrent.CountDownLatch inStep = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        Recorder r = new Recorder(-1) {
            @Override
            public boolean onToken(GeneratedToken token) { // holds the step, as a long forward would, interrupts or not
                inStep.countDown();
                while (release.getCount() > 0) {
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        // close interrupts the engine thread; a forward in native code would not notice either
                    }
                }
                return super.onToken(token);
            }
        };
        engine.submit(greedy(new int[] {1, 2, 3}, 200, Set.of()), r);
        assertTrue(inStep.await(60, TimeUnit.SECONDS), "the sequence's first step");
        engine.close(10);
        assertTrue(!engine.stopped(), "a step still runs on the model");
        release.countDown();
        awaitTrue(engine::stopped, "the step ends");
        assertThrows(java.util.concurrent.ExecutionException.class, r::await); // told the engine stopped under it
    }

    @Test
    void closingAnIdleEngineRefusesNewRequests() throws Exception {
        Engine engine = new Engine(model, new EngineConfig(4, 64, 4, 256, 128), "closed-test");
        engine.close();
        assertTrue(engine.stopped());
        assertThrows(EngineStoppedException.class, () -> engine.submit(greedy(new int[] {1, 2}, 2, Set.of()), new Recorder(-1)));
        assertEquals(0, engineThreads("closed-test"));
    }

    private static long engineThreads(String name) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("flexiserve-engine-" + name) && t.isAlive()).count();
    }

    /** Nothing running or waiting, and every KV block back (free, or cached for its prefix). */
    static void assertIdle(EngineStats stats, String message) {
        assertEquals(List.of(0, 0, 0), List.of(stats.running(), stats.waiting(), stats.blocksInUse()), message + " " + stats);
        assertEquals(0.0, stats.kvUsage());
        assertTrue(stats.blocksFree() + stats.blocksCached() > 0);
    }
}
