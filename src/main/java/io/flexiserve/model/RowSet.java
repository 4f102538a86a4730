package io.flexiserve.model;

/**
 * The rows of a step that took one side of a routing decision (those that run a layer, or those that skip it), and
 * how to gather their slices of a row-major (N, width) array and scatter them back. A set of every row gathers and
 * scatters nothing: it works on the array itself.
 */
record RowSet(int[] rows, int total) {

    /** The rows r where {@code mask[r]} holds. */
    static RowSet where(boolean[] mask) {
        return of(mask, true);
    }

    /** The rows r where {@code mask[r]} does not hold. */
    static RowSet whereNot(boolean[] mask) {
        return of(mask, false);
    }

    private static RowSet of(boolean[] run, boolean side) {
        int count = 0;
        for (boolean r : run) {
            count += r == side ? 1 : 0;
        }
        int[] rows = new int[count];
        for (int r = 0, i = 0; r < run.length; r++) {
            if (run[r] == side) {
                rows[i++] = r;
            }
        }
        return new RowSet(rows, run.length);
    }

    int size() {
        return rows.length;
    }

    private boolean all() {
        return rows.length == total;
    }

    /** This set's rows of a (total, width) array, as a (size, width) array: the array itself for every row. */
    float[] gather(float[] all, int totalRows) {
        if (all()) {
            return all;
        }
        int width = all.length / totalRows;
        float[] some = new float[rows.length * width];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(all, rows[i] * width, some, i * width, width);
        }
        return some;
    }

    /** Writes a (size, width) array back into this set's rows of a (total, width) array. */
    void scatter(float[] some, float[] all, int totalRows) {
        if (all()) {
            return;
        }
        int width = all.length / totalRows;
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(some, i * width, all, rows[i] * width, width);
        }
    }
}
