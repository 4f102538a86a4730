package io.flexiserve.engine;

import io.flexiserve.model.FlexiDepthModel;
import io.flexiserve.model.ForwardResult;
import io.flexiserve.model.KvCache;
import io.flexiserve.model.RoutingTrace;
import io.flexiserve.model.SequenceChunk;
import io.flexiserve.model.StepBatch;
import io.flexiserve.model.cpu.ShortLivedThread;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Continuous batching over one model replica. Requests enter through a thread-safe inbox; one engine thread
 * owns the model, the KV cache and the scheduler, and loops: drain the inbox, schedule a step, run one
 * batched forward, sample, and hand each sequence its token. Sequences join and leave between steps.
 *
 * <p>The engine thread exists only while there is work: it ends after {@link #IDLE_EXIT_MS} with nothing to do
 * and a new one starts with the next request. On CPU this matters for speed, not tidiness: an idle thread that
 * ran libtorch kernels keeps an OpenMP team that slows every other thread's kernels ({@code ShortLivedThread} says
 * how; BENCHMARKS.md, "What limits these figures", item "One OpenMP team per process", measures it).
 */
public final class Engine implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Engine.class.getName());
    private static final long IDLE_WAIT_MS = 50;
    private static final long CLOSE_WAIT_MILLIS = 10_000;
    private volatile Thread lingering; // set by close when a step outlived its wait
    /** What a request the engine stopped under is told (the service shutting down, or its model removed). */
    static final String STOPPED = "the model stopped serving before this request finished (the service is shutting"
            + " down or the model was removed); retry it";
    static final long IDLE_EXIT_MS = 1000;

    private final FlexiDepthModel model;
    private final EngineConfig config;
    private final KvCache cache;
    private final Scheduler scheduler;
    private final LinkedBlockingQueue<Runnable> inbox = new LinkedBlockingQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final EngineListener listener;
    private final String threadName;
    private final Object lifecycle = new Object();
    private Thread thread; // the running loop, or null while the engine is idle (guarded by lifecycle)
    private volatile boolean stopping;
    private volatile Throwable injectedFault;
    private volatile long injectedDelayMillis;
    private volatile String failure; // why the engine died, or null while it works
    private volatile EngineStats stats = new EngineStats(0, 0, 0);
    private final List<Runnable> endings = new ArrayList<>(); // sinks to tell, after the step (engine thread only)

    public Engine(FlexiDepthModel model, EngineConfig config, String name) {
        this(model, config, name, EngineListener.NONE);
    }

    public Engine(FlexiDepthModel model, EngineConfig config, String name, EngineListener listener) {
        this.model = model;
        this.config = config;
        this.listener = listener;
        // allocated (zeroed by parallel kernels) on a thread that ends, not on the caller's long-lived one
        this.cache = ShortLivedThread.call("flexiserve-kv-" + name,
                () -> model.newKvCache(config.kvBlocks() * config.kvBlockSize()));
        this.scheduler = new Scheduler(config.maxNumSeqs(), config.maxBatchTokens(),
                new KvBlocks(config.kvBlocks(), config.kvBlockSize()), config.prefixCaching());
        this.threadName = "flexiserve-engine-" + name;
    }

    /** Starts the engine thread if none runs; called after every addition to the inbox. */
    private void wake() {
        synchronized (lifecycle) {
            if (thread == null && !stopping) {
                thread = new Thread(this::loop, threadName);
                thread.setDaemon(true);
                thread.start();
            }
        }
    }

    /** True when the loop may end: nothing waits, runs or is about to arrive (checked under the lifecycle lock). */
    private boolean retire() {
        synchronized (lifecycle) {
            if (!inbox.isEmpty() || stopping) {
                return false;
            }
            thread = null;
            return true;
        }
    }

    public EngineConfig config() {
        return config;
    }

    public EngineStats stats() {
        return stats;
    }

    /**
     * Queues a sequence.
     *
     * @throws EngineOverloadedException when {@code maxQueuedRequests} sequences already wait
     * @throws EngineStoppedException    when the engine was closed
     * @throws EngineFailedException     when the engine died
     * @throws IllegalArgumentException  when the sequence can never fit the context or the KV cache
     */
    public SequenceHandle submit(GenerationRequest request, TokenSink sink) {
        int length = request.promptIds().length + request.maxTokens();
        if (length > config.maxModelLen()) {
            throw new IllegalArgumentException("prompt (" + request.promptIds().length + ") plus max tokens ("
                    + request.maxTokens() + ") exceeds the maximum context length of " + config.maxModelLen() + " tokens");
        }
        int blocks = (request.kvTokens() + config.kvBlockSize() - 1) / config.kvBlockSize();
        if (blocks > config.kvBlocks()) {
            throw new IllegalArgumentException("the request needs " + request.kvTokens()
                    + " KV cache tokens but the cache holds " + config.kvBlocks() * config.kvBlockSize());
        }
        if (queued.incrementAndGet() > config.maxQueuedRequests()) {
            queued.decrementAndGet();
            throw new EngineOverloadedException("too many requests waiting (" + config.maxQueuedRequests() + ")");
        }
        Sequence sequence = new Sequence(request, sink, this);
        synchronized (lifecycle) { // atomic with close(): a sequence either gets in before it, or is refused
            if (stopping) {
                queued.decrementAndGet();
                if (failure != null) {
                    throw new EngineFailedException(failure);
                }
                throw new EngineStoppedException("the model stopped serving");
            }
            inbox.add(() -> scheduler.add(sequence));
            wake();
        }
        return sequence;
    }

    /**
     * Fault injection for tests and drills: the next step's forward throws {@code fault}. An exception fails the
     * sequences of that step and the engine carries on; an {@link Error} kills the engine ({@link #failure()}).
     */
    public void failNextStep(Throwable fault) {
        injectedFault = fault;
    }

    /** Fault injection for tests and drills: every following step takes at least this long (0 ends it). */
    public void slowSteps(long millis) {
        injectedDelayMillis = millis;
    }

    /** Why the engine died and takes no more work, or null while it serves. */
    public String failure() {
        return failure;
    }

    /** Called by {@link Sequence#cancel()}: the engine thread drops the sequence before its next step. */
    void cancel(Sequence sequence) {
        inbox.add(() -> finish(sequence, FinishReason.ABORT));
        wake();
    }

    private void loop() {
        boolean idle = true; // nothing was schedulable last time: wait for the inbox instead of spinning
        long idleSince = System.nanoTime();
        while (!stopping) {
            try {
                drainInbox(idle);
                List<ScheduledChunk> plan = scheduler.schedule();
                idle = plan.isEmpty();
                if (!idle || !scheduler.all().isEmpty()) {
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince > IDLE_EXIT_MS * 1_000_000 && retire()) {
                    return;
                }
                for (ScheduledChunk c : plan) {
                    if (!c.sequence().counted) { // admitted in this schedule: no longer queued
                        c.sequence().counted = true;
                        queued.decrementAndGet();
                    }
                }
                publishStats();
                if (!plan.isEmpty()) {
                    step(plan);
                }
                deliverEndings();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (RuntimeException e) {
                LOG.log(Level.SEVERE, "engine loop error", e);
            } catch (Error e) {
                die(e);
                return;
            }
        }
        abortLeftovers();
    }

    /**
     * An {@link Error} on the engine thread (out of memory in a step, a native failure): the model's state can no
     * longer be trusted, so every sequence, running or waiting, fails with a 500, new ones are refused, and health
     * reports the reason until the process is restarted. Nothing is left waiting for a thread that is gone.
     */
    private void die(Error e) {
        String reason = "the engine stopped after " + e.getClass().getSimpleName()
                + (e.getMessage() == null ? "" : ": " + e.getMessage()) + "; restart the service";
        LOG.log(Level.SEVERE, "engine " + threadName + " failed: " + reason, e);
        synchronized (lifecycle) { // after this no submit gets into the inbox; thread stays set, so that a close
            failure = reason;      // now joins this thread rather than ending the same sequences beside it
            stopping = true;
        }
        for (Runnable command = inbox.poll(); command != null; command = inbox.poll()) {
            command.run();
        }
        failAll(List.copyOf(scheduler.all()), "internal error: " + reason);
        deliverEndings();
    }

    /**
     * After stopping, on the loop's last pass or on the closing thread once no loop runs: every sequence still
     * queued, waiting or running ends, counted as aborted; those their clients did not cancel are told the engine
     * stopped under them ({@link TokenSink#onStopped}), so that no client waits for an answer that cannot come.
     */
    private void abortLeftovers() {
        for (Runnable command = inbox.poll(); command != null; command = inbox.poll()) {
            command.run();
        }
        for (Sequence s : List.copyOf(scheduler.all())) {
            if (s.cancelled) {
                finish(s, FinishReason.ABORT);
            } else {
                end(s, FinishReason.ABORT, stats -> s.sink.onStopped(STOPPED));
            }
        }
        deliverEndings();
    }

    private void drainInbox(boolean idle) throws InterruptedException {
        Runnable first = idle ? inbox.poll(IDLE_WAIT_MS, TimeUnit.MILLISECONDS) : inbox.poll();
        for (Runnable command = first; command != null; command = inbox.poll()) {
            command.run();
        }
    }

    /** One step: the scheduler's plan through the model, a token sampled per chunk that wants one, the state updated. */
    private void step(List<ScheduledChunk> plan) {
        StepBatch batch = batch(plan);
        ForwardResult result;
        try {
            injectFaults();
            result = model.forward(batch, cache);
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, "forward step failed; failing its " + plan.size() + " sequences", e);
            failAll(plan.stream().map(ScheduledChunk::sequence).toList(), "internal error in the model step: " + e.getMessage());
            return;
        }
        int[] sampled = new int[plan.size()];
        for (int i = 0; i < plan.size(); i++) {
            ScheduledChunk c = plan.get(i);
            sampled[i] = -1;
            if (c.wantLogits() && !c.sequence().finished) {
                try {
                    sampled[i] = sample(c.sequence(), result.logits()[i]);
                } catch (RuntimeException e) { // this sequence's sampling only: the step's others go on
                    LOG.log(Level.SEVERE, "sampling failed; failing its sequence", e);
                    failAll(List.of(c.sequence()), "internal error in sampling: " + e.getMessage());
                }
            }
        }
        scheduler.update(plan, sampled);
        StepRecorder recorder = new StepRecorder(result.trace(), model.config().numLayers());
        long now = System.nanoTime();
        for (int i = 0; i < plan.size(); i++) {
            ScheduledChunk c = plan.get(i);
            Sequence s = c.sequence();
            int promptRows = Math.max(0, Math.min(c.count(), s.promptLength() - c.from()));
            recorder.promptRows(s.promptRowsFirstRead(c.from(), c.count()));
            int last = batch.lastRow(i);
            for (int row = batch.firstRow(i); row < last; row++) {
                recorder.prefillRow(row);
            }
            if (sampled[i] >= 0) {
                deliver(s, sampled[i], result.logits()[i], result.trace(), last);
                recorder.decodeRow(last, s, now);
            } else if (promptRows == c.count()) {
                recorder.prefillRow(last); // a prompt row that produced no token
            }
        }
        listener.onStep(recorder.build(plan.size()));
    }

    /** The model's input for a plan: each chunk's tokens at its sequence's KV blocks, with its threshold. */
    private StepBatch batch(List<ScheduledChunk> plan) {
        List<SequenceChunk> chunks = new ArrayList<>(plan.size());
        for (ScheduledChunk c : plan) {
            Sequence s = c.sequence();
            chunks.add(new SequenceChunk(s.kvRows(config.kvBlockSize()), c.from(), s.tokens(c.from(), c.count()),
                    s.request.threshold(), c.wantLogits()));
        }
        return new StepBatch(chunks);
    }

    private void injectFaults() {
        long delay = injectedDelayMillis;
        if (delay > 0) {
            try {
                Thread.sleep(delay);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Throwable fault = injectedFault;
        if (fault != null) {
            injectedFault = null;
            if (fault instanceof Error error) {
                throw error;
            }
            throw fault instanceof RuntimeException r ? r : new IllegalStateException("injected fault", fault);
        }
    }

    /**
     * The sequence's next token, or -1 when it generates none: cancelled (it ends as aborted), a stop token, or a
     * constraint that allows nothing more (it ends as stopped; the stop token is not part of the output).
     */
    private int sample(Sequence s, float[] logits) {
        if (s.cancelled) {
            finish(s, FinishReason.ABORT);
            return -1;
        }
        TokenConstraint constraint = s.request.constraint();
        if (constraint != null && !constraint.mask(logits)) { // masked in place: the logprobs see it too
            finish(s, FinishReason.STOP);
            return -1;
        }
        SamplingParams params = s.request.sampling();
        float[] adjusted = params.adjustsLogits() ? LogitAdjustments.apply(logits, params, s) : logits;
        int token = Sampler.sample(adjusted, params, s.random);
        if (constraint != null) {
            constraint.accept(token);
        }
        if (s.firstTokenNanos == 0) {
            s.firstTokenNanos = System.nanoTime();
        }
        if (s.request.stopTokenIds().contains(token)) {
            finish(s, FinishReason.STOP);
            return -1;
        }
        return token;
    }

    /** Hands a generated token (already appended) to the sequence's sink, and ends the sequence where it is done. */
    private void deliver(Sequence s, int token, float[] logits, RoutingTrace trace, int row) {
        GenerationRequest request = s.request;
        int layersUsed = trace.layersUsed(row);
        s.decodeLayers += layersUsed;
        boolean[] routedRan = new boolean[trace.routedLayers().size()];
        for (int r = 0; r < routedRan.length; r++) {
            routedRan[r] = trace.ran(r, row);
        }
        float logprob = Float.NaN;
        List<TokenLogprob> top = List.of();
        if (request.topLogprobs() >= 0) {
            Logprobs lp = new Logprobs(logits);
            logprob = lp.of(token);
            top = lp.top(request.topLogprobs());
        }
        boolean more;
        try {
            more = s.sink.onToken(new GeneratedToken(token, s.generated() - 1, layersUsed, routedRan, logprob, top));
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "token sink failed; failing its sequence", e);
            failAll(List.of(s), "internal error delivering a token: " + e.getMessage());
            return;
        }
        if (!more) {
            finish(s, FinishReason.STOP);
        } else if (s.generated() >= request.maxTokens() || s.length() >= config.maxModelLen()) {
            finish(s, FinishReason.LENGTH);
        }
    }

    private void finish(Sequence s, FinishReason reason) {
        end(s, reason, stats -> s.sink.onFinish(reason, stats));
    }

    private void failAll(List<Sequence> sequences, String message) {
        for (Sequence s : new LinkedHashSet<>(sequences)) {
            end(s, FinishReason.ERROR, stats -> s.sink.onError(message));
        }
    }

    /** Ends a sequence once: frees it, counts it as {@code counted}, and tells its sink after the step's metrics. */
    private void end(Sequence s, FinishReason counted, Consumer<SequenceStats> tell) {
        if (s.finished) {
            return;
        }
        s.finished = true;
        release(s);
        SequenceStats stats = s.stats(System.nanoTime());
        listener.onFinished(counted, stats);
        endings.add(() -> tell.accept(stats));
    }

    /**
     * Tells the sinks of the sequences that ended how they ended, once the step's metrics and the engine's stats
     * are out: a client that has its answer finds them counted.
     */
    private void deliverEndings() {
        publishStats();
        for (Runnable ending : endings) {
            try {
                ending.run();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "token sink failed on finish", e);
            }
        }
        endings.clear();
    }

    private void release(Sequence s) {
        if (!s.counted) {
            s.counted = true;
            queued.decrementAndGet(); // left while still waiting
        }
        scheduler.remove(s);
    }

    private void publishStats() {
        KvBlocks blocks = scheduler.blocks();
        stats = new EngineStats(scheduler.runningCount() + scheduler.preemptedCount(), queued.get(), scheduler.kvUsage(), blocks.inUse(),
                blocks.cachedUnused(), blocks.free(), scheduler.prefixQueryTokens(), scheduler.prefixHitTokens(),
                scheduler.preemptions());
    }

    /**
     * Waits until no sequence runs or waits, or until {@code deadlineNanos} ({@link System#nanoTime()});
     * returns whether the engine went idle. Used to drain at shutdown, after new requests are refused.
     */
    public boolean awaitIdle(long deadlineNanos) throws InterruptedException {
        while (stats.running() + stats.waiting() > 0 || !inbox.isEmpty()) {
            if (System.nanoTime() >= deadlineNanos) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }

    /** Stops the engine thread, aborting every sequence, and frees the KV cache. */
    @Override
    public void close() {
        close(CLOSE_WAIT_MILLIS);
    }

    /** {@link #close()}, waiting at most {@code waitMillis} for a step in progress to end. */
    void close(long waitMillis) {
        Thread running;
        synchronized (lifecycle) {
            stopping = true;
            running = thread;
        }
        if (running != null) {
            running.interrupt();
            try {
                running.join(waitMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (running == null || !running.isAlive()) {
            abortLeftovers(); // what arrived while no loop ran (a loop still in a long step does it itself)
            cache.close();
        } else { // a step outlived the wait: its forward still reads the cache, which must outlive it
            lingering = running;
            LOG.warning("engine " + threadName + " still in a step after " + waitMillis + " ms: its KV cache is left to"
                    + " the process");
        }
    }

    /**
     * After {@link #close}: whether no step can still run, so that the model it stepped may be closed. False while a
     * step that outlived close's wait goes on (a long prompt chunk on the CPU): its forward still reads the weights.
     */
    public boolean stopped() {
        Thread step = lingering;
        return step == null || !step.isAlive();
    }
}
