package io.flexiserve.engine;

import java.util.Map;
import java.util.TreeMap;

/**
 * Hands out contiguous ranges of KV cache rows, first fit, and merges freed neighbours. A sequence gets one
 * range for its prompt plus its token budget when it is admitted, so it can never run out mid-generation.
 */
final class KvAllocator {

    private final int capacity;
    private final TreeMap<Integer, Integer> free = new TreeMap<>(); // offset -> length
    private int used;

    KvAllocator(int capacity) {
        this.capacity = capacity;
        free.put(0, capacity);
    }

    /** The first offset of a free range of {@code rows}, now taken; or -1 when no range is long enough. */
    int allocate(int rows) {
        for (Map.Entry<Integer, Integer> range : free.entrySet()) {
            if (range.getValue() >= rows) {
                int offset = range.getKey();
                free.remove(offset);
                if (range.getValue() > rows) {
                    free.put(offset + rows, range.getValue() - rows);
                }
                used += rows;
                return offset;
            }
        }
        return -1;
    }

    void release(int offset, int rows) {
        used -= rows;
        int start = offset;
        int length = rows;
        Map.Entry<Integer, Integer> before = free.floorEntry(offset);
        if (before != null && before.getKey() + before.getValue() == offset) {
            start = before.getKey();
            length += before.getValue();
            free.remove(before.getKey());
        }
        Integer after = free.get(offset + rows);
        if (after != null) {
            length += after;
            free.remove(offset + rows);
        }
        free.put(start, length);
    }

    int capacity() {
        return capacity;
    }

    int used() {
        return used;
    }
}
