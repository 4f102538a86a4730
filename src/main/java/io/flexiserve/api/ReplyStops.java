package io.flexiserve.api;

import io.flexiserve.structured.ToolFormat;
import java.util.List;

/**
 * A reply's stop strings within their {@link StopScope}. Under {@link StopScope#ANSWERS} the reply's leading blanks
 * are held, matched against nothing, until its first other character says what it is: tool calls (the character
 * calls open with, {@link ToolFormat#opener}: no stop strings, the blanks released as they are) or an answer (the
 * blanks and what follows go through the stop strings). A stop string such as a newline thus never ends a reply
 * that turns out to be tool calls, however it begins.
 */
final class ReplyStops {

    private final StopStrings stops;
    private final char callOpener;
    private StopScope scope;
    private String held = ""; // leading blanks of a reply not yet known to be an answer or tool calls

    ReplyStops(List<String> stop, StopScope scope, ToolFormat calls) {
        this.stops = new StopStrings(scope == StopScope.NOWHERE ? List.of() : stop);
        this.scope = scope;
        this.callOpener = calls.opener();
    }

    /** The text to send for a new piece of the reply. */
    String append(String piece) {
        if (scope == StopScope.ANSWERS) {
            String begun = held + piece;
            int first = 0;
            while (first < begun.length() && ToolCallScanner.blank(begun.charAt(first))) {
                first++;
            }
            if (first == begun.length()) {
                held = begun;
                return "";
            }
            held = "";
            scope = begun.charAt(first) == callOpener ? StopScope.NOWHERE : StopScope.EVERYWHERE;
            return scope == StopScope.NOWHERE ? begun : stops.append(begun);
        }
        return scope == StopScope.NOWHERE ? piece : stops.append(piece);
    }

    /** Whether a stop string ended the reply. */
    boolean matched() {
        return stops.matched();
    }

    /** At the end of the reply, the text still to send after {@code tail}: a reply of blanks alone is an answer. */
    String finish(String tail) {
        String out = append(tail);
        if (scope == StopScope.ANSWERS) {
            scope = StopScope.EVERYWHERE;
            out = stops.append(held);
            held = "";
        }
        return stops.matched() ? out : out + stops.flush();
    }
}
