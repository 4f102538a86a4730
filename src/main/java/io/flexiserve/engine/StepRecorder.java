package io.flexiserve.engine;

import io.flexiserve.model.RoutingTrace;
import java.util.Arrays;

/** Accumulates one step's {@link StepStats} from the routing trace and the tokens emitted. */
final class StepRecorder {

    private final RoutingTrace trace;
    private final long[] prefillLayers;
    private final long[] decodeLayers;
    private final long[] routedRuns;
    private final long[] routedSkips;
    private double[] firstToken = new double[4];
    private double[] interToken = new double[16];
    private int firstTokens;
    private int interTokens;
    private int promptTokens;

    StepRecorder(RoutingTrace trace, int numLayers) {
        this.trace = trace;
        this.prefillLayers = new long[numLayers + 1];
        this.decodeLayers = new long[numLayers + 1];
        this.routedRuns = new long[trace.routedLayers().size()];
        this.routedSkips = new long[trace.routedLayers().size()];
    }

    void promptRows(int count) {
        promptTokens += count;
    }

    void prefillRow(int row) {
        observe(prefillLayers, row);
    }

    void decodeRow(int row, Sequence s, long now) {
        observe(decodeLayers, row);
        if (s.lastTokenNanos == 0) {
            firstToken = append(firstToken, firstTokens++, (now - s.submittedNanos) / 1e9);
        } else {
            interToken = append(interToken, interTokens++, (now - s.lastTokenNanos) / 1e9);
        }
        s.lastTokenNanos = now;
    }

    StepStats build(int sequences) {
        long generated = Arrays.stream(decodeLayers).sum();
        return new StepStats(sequences, prefillLayers, decodeLayers, routedRuns, routedSkips, promptTokens, (int) generated,
                Arrays.copyOf(firstToken, firstTokens), Arrays.copyOf(interToken, interTokens));
    }

    private void observe(long[] histogram, int row) {
        histogram[trace.layersUsed(row)]++;
        for (int r = 0; r < routedRuns.length; r++) {
            if (trace.ran(r, row)) {
                routedRuns[r]++;
            } else {
                routedSkips[r]++;
            }
        }
    }

    private static double[] append(double[] values, int at, double value) {
        double[] out = at < values.length ? values : Arrays.copyOf(values, values.length * 2);
        out[at] = value;
        return out;
    }
}
