package io.flexiserve.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Stop strings in a reply that may be tool calls: they apply to answers only, whatever blanks lead the reply. */
class ReplyStopsTest {

    @Test
    void toolCallsAfterALeadingNewlineAreNotStoppedByIt() {
        ReplyStops stops = new ReplyStops(List.of("\n"), StopScope.ANSWERS);
        assertEquals("", stops.append("\n"), "undecided: held, not matched");
        assertFalse(stops.matched());
        assertEquals("\n [{\"name\"", stops.append(" [{\"name\""));
        assertEquals(":\"f\"}]\n", stops.append(":\"f\"}]\n"), "tool calls: no stop strings");
        assertFalse(stops.matched());
        assertEquals("", stops.finish(""));
    }

    @Test
    void anAnswerAfterLeadingBlanksMeetsItsStopStringsFromItsFirstCharacter() {
        ReplyStops stops = new ReplyStops(List.of("\n"), StopScope.ANSWERS);
        assertEquals("", stops.append("\n"));
        assertEquals("", stops.append("Hello"), "an answer: the held newline is its stop string");
        assertTrue(stops.matched());
    }

    @Test
    void anAnswerKeepsItsLeadingBlanksWhenNoStopStringMatchesThem() {
        ReplyStops stops = new ReplyStops(List.of("END"), StopScope.ANSWERS);
        assertEquals("", stops.append("  "));
        assertEquals("  Hi ", stops.append("Hi E"), "'E' may start END");
        assertEquals("", stops.append("ND"));
        assertTrue(stops.matched());
    }

    @Test
    void aReplyOfBlanksAloneIsAnAnswer() {
        ReplyStops kept = new ReplyStops(List.of("END"), StopScope.ANSWERS);
        assertEquals("", kept.append(" \n"));
        assertEquals(" \n ", kept.finish(" "), "released at the end");
        ReplyStops stopped = new ReplyStops(List.of("\n"), StopScope.ANSWERS);
        assertEquals("", stopped.append(" "));
        assertEquals(" ", stopped.finish("\n"), "the newline is its stop string");
        assertTrue(stopped.matched());
    }

    @Test
    void everywhereAndNowhereAreNotHeld() {
        ReplyStops everywhere = new ReplyStops(List.of("\n"), StopScope.EVERYWHERE);
        assertEquals("", everywhere.append("\n[x"));
        assertTrue(everywhere.matched());
        ReplyStops nowhere = new ReplyStops(List.of("\n"), StopScope.NOWHERE);
        assertEquals("\n[x", nowhere.append("\n[x"));
        assertFalse(nowhere.matched());
    }
}
