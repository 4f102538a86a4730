package io.flexiserve.api;

import java.util.List;

/**
 * Finds stop strings in streamed text, across token boundaries. Text that could still be the start of a
 * stop string is held back until the next delta decides; once one matches, only the text before it counts.
 */
final class StopStrings {

    private final List<String> stops;
    private String held = "";
    private boolean matched;

    StopStrings(List<String> stops) {
        this.stops = stops;
    }

    /** Adds a text delta; returns the text that is now safe to emit (before the stop string, once matched). */
    String append(String delta) {
        if (matched) {
            return "";
        }
        String text = held + delta;
        int cut = -1;
        for (String stop : stops) {
            int at = text.indexOf(stop);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
            }
        }
        if (cut >= 0) {
            matched = true;
            held = "";
            return text.substring(0, cut);
        }
        int keep = heldSuffix(text);
        held = text.substring(text.length() - keep);
        return text.substring(0, text.length() - keep);
    }

    /** At the end: whatever was held back (it did not become a stop string). */
    String flush() {
        String out = held;
        held = "";
        return out;
    }

    boolean matched() {
        return matched;
    }

    /** Length of the longest suffix of text that is a proper prefix of some stop string. */
    private int heldSuffix(String text) {
        int best = 0;
        for (String stop : stops) {
            for (int k = Math.min(stop.length() - 1, text.length()); k > best; k--) {
                if (text.regionMatches(text.length() - k, stop, 0, k)) {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }
}
