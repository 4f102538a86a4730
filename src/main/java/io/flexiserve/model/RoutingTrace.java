package io.flexiserve.model;

import java.util.List;

/**
 * What the routers decided in one step: for each routed layer and each row, its gate w and whether the
 * layer ran. A row's layers used = unrouted layers + routed layers that ran.
 */
public final class RoutingTrace {

    private final List<Integer> routedLayers;
    private final int unroutedLayers;
    private final float[][] gates; // [routed layer][row]
    private final boolean[][] ran; // [routed layer][row]
    private final int rows;

    RoutingTrace(ModelConfig config, int rows) {
        this.routedLayers = config.routingLayers();
        this.unroutedLayers = config.unroutedLayers();
        this.gates = new float[routedLayers.size()][rows];
        this.ran = new boolean[routedLayers.size()][rows];
        this.rows = rows;
    }

    void record(int routedIndex, float[] w, boolean[] run) {
        gates[routedIndex] = w;
        ran[routedIndex] = run;
    }

    /** N, the rows of the step. */
    public int rows() {
        return rows;
    }

    /** The model's routed layer indices, in the order of the {@code routedIndex} arguments below. */
    public List<Integer> routedLayers() {
        return routedLayers;
    }

    public boolean ran(int routedIndex, int row) {
        return ran[routedIndex][row];
    }

    public float gate(int routedIndex, int row) {
        return gates[routedIndex][row];
    }

    /** Layers the row ran through: every unrouted layer plus the routed layers where its gate passed. */
    public int layersUsed(int row) {
        int used = unroutedLayers;
        for (boolean[] layer : ran) {
            if (layer[row]) {
                used++;
            }
        }
        return used;
    }
}
