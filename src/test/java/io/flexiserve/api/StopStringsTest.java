package io.flexiserve.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopStringsTest {

    @Test
    void stopStringSplitOverDeltasIsFoundAndHeldBack() {
        StopStrings stops = new StopStrings(List.of("END", "\n\n"));
        assertEquals("Hello ", stops.append("Hello E"), "'E' may start END: held back");
        assertEquals("", stops.append("N"));
        assertEquals("", stops.append("Dtrailing"));
        assertTrue(stops.matched());
        assertEquals("", stops.append("more"), "nothing after a match");
    }

    @Test
    void heldTextIsReleasedWhenItDoesNotBecomeAStop() {
        StopStrings stops = new StopStrings(List.of("END"));
        assertEquals("a", stops.append("aEN"));
        assertEquals("ENx", stops.append("x"));
        assertEquals("", stops.append("E"), "'E' may start END again");
        assertEquals("E", stops.flush(), "at the end, the held 'E' is released");
    }

    @Test
    void earliestOfSeveralStopsWins() {
        StopStrings stops = new StopStrings(List.of("cd", "b"));
        assertEquals("a", stops.append("abcd"));
        assertTrue(stops.matched());
    }
}
