package io.flexiserve.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class KvAllocatorTest {

    @Test
    void firstFitAndNeighboursMergeOnRelease() {
        KvAllocator kv = new KvAllocator(100);
        assertEquals(0, kv.allocate(30));
        assertEquals(30, kv.allocate(30));
        assertEquals(60, kv.allocate(40));
        assertEquals(-1, kv.allocate(1), "full");
        kv.release(0, 30);
        kv.release(60, 40);
        assertEquals(-1, kv.allocate(50), "two holes of 30 and 40 are not one of 50");
        kv.release(30, 30);
        assertEquals(0, kv.used());
        assertEquals(0, kv.allocate(100), "all three merged back into one range");
    }
}
