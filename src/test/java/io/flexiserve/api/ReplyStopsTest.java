package io.flexiserve.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flexiserve.structured.ToolFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Stop strings in a reply that may be tool calls: they apply to answers only, whatever blanks lead the reply. */
class ReplyStopsTest {

    @Test
    void toolCallsAfterALeadingNewlineAreNotStoppedByIt() {
        ReplyStops stops = new ReplyStops(List.of("\n"), StopScope.ANSWERS, ToolFormat.ARRAY);
        assertEquals("", stops.append("\n"), "undecided: held, not matched");
        assertFalse(stops.matched());
        assertEquals("\n [{\"name\"", stops.append(" [{\"name\""));
        assertEquals(":\"f\"}]\n", stops.append(":\"f\"}]\n"), "tool calls: no stop strings");
        assertFalse(stops.matched());
        assertEquals("", stops.finish(""));
    }

    @Test
    void anAnswerAfterLeadingBlanksMeetsItsStopStringsFromItsFirstCharacter() {
        ReplyStops stops = new ReplyStops(List.of("\n"), StopScope.ANSWERS, ToolFormat.ARRAY);
        assertEquals("", stops.append("\n"));
        assertEquals("", stops.append("Hello"), "an answer: the held newline is its stop string");
        assertTrue(stops.matched());
    }

    @Test
    void anAnswerKeepsItsLeadingBlanksWhenNoStopStringMatchesThem() {
        ReplyStops stops = new ReplyStops(List.of("END"), StopScope.ANSWERS, ToolFormat.ARRAY);
        assertEquals("", stops.append("  "));
        assertEquals("  Hi ", stops.append("Hi E"), "'E' may start END");
        assertEquals("", stops.append("ND"));
        assertTrue(stops.matched());
    }

    @Test
    void aReplyOfBlanksAloneIsAnAnswer() {
        ReplyStops kept = new ReplyStops(List.of("END"), StopScope.ANSWERS, ToolFormat.ARRAY);
        assertEquals("", kept.append(" \n"));
        assertEquals(" \n ", kept.finish(" "), "released at the end");
        ReplyStops stopped = new ReplyStops(List.of("\n"), StopScope.ANSWERS, ToolFormat.ARRAY);
        assertEquals("", stopped.append(" "));
        assertEquals(" ", stopped.finish("\n"), "the newline is its stop string");
        assertTrue(stopped.matched());
    }

    @Test
    void everywhereAndNowhereAreNotHeld() {
        ReplyStops everywhere = new ReplyStops(List.of("\n"), StopScope.EVERYWHERE, ToolFormat.ARRAY);
        assertEquals("", everywhere.append("\n[x"));
        assertTrue(everywhere.matched());
        ReplyStops nowhere = new ReplyStops(List.of("\n"), StopScope.NOWHERE, ToolFormat.ARRAY);
        assertEquals("\n[x", nowhere.append("\n[x"));
        assertFalse(nowhere.matched());
    }

    @Test
    void aTemplatesCallOpensWithABrace() {
        ReplyStops stops = new ReplyStops(List.of("\n"), StopScope.ANSWERS, ToolFormat.TEMPLATE_JSON);
        assertEquals("", stops.append("\n"));
        assertEquals("\n{\"name\": \"f\",\n", stops.append("{\"name\": \"f\",\n"), "a call: no stop strings");
        assertFalse(stops.matched());
        ReplyStops answer = new ReplyStops(List.of("\n"), StopScope.ANSWERS, ToolFormat.TEMPLATE_JSON);
        assertEquals("[1", answer.append("[1"), "'[' opens an answer here");
        assertEquals("", answer.append("\n"));
        assertTrue(answer.matched());
    }
}
