package io.flexiserve.engine;

/**
 * Receives the engine's statistics as plain records, on the engine thread, so that one class outside the
 * engine can turn them into meters. Implementations must be quick and must not throw.
 */
public interface EngineListener {

    EngineListener NONE = new EngineListener() {
        @Override
        public void onStep(StepStats stats) {
        }

        @Override
        public void onFinished(FinishReason reason, SequenceStats stats) {
        }
    };

    /** After every forward step. */
    void onStep(StepStats stats);

    /** When a sequence ends, however it ends. */
    void onFinished(FinishReason reason, SequenceStats stats);
}
