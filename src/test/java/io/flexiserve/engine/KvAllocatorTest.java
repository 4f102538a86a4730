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

    /**
     * Random admissions and releases keep the free list exact: disjoint ranges that, with the used rows, cover
     * the cache, and everything merges back once all is released. Regression: reading a TreeMap entry after
     * removing it leaked rows.
     */
    @Test
    void randomAllocateAndReleaseNeverLoseRows() {
        java.util.Random random = new java.util.Random(7);
        KvAllocator kv = new KvAllocator(10_000);
        java.util.Map<Integer, Integer> held = new java.util.HashMap<>();
        for (int i = 0; i < 20_000; i++) {
            if (held.isEmpty() || random.nextInt(3) > 0) {
                int rows = 1 + random.nextInt(400);
                int offset = kv.allocate(rows);
                if (offset >= 0) {
                    held.put(offset, rows);
                }
            } else {
                Integer offset = held.keySet().stream().skip(random.nextInt(held.size())).findFirst().orElseThrow();
                kv.release(offset, held.remove(offset));
            }
            assertEquals(held.values().stream().mapToInt(Integer::intValue).sum(), kv.used(), "used rows at step " + i);
            assertEquals(kv.capacity() - kv.used(), kv.freeRows(), "free rows at step " + i);
        }
        held.forEach(kv::release);
        assertEquals(0, kv.allocate(10_000), "everything merged back into one range");
    }
}
