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
            // Read both before removing: TreeMap reuses a removed node with two children for its successor,
            // so the entry would then report the successor's key and length (this leaked KV rows until every
            // admission failed, seen after eight minutes of soak).
            int offset = range.getKey();
            int length = range.getValue();
            if (length >= rows) {
                free.remove(offset);
                if (length > rows) {
                    free.put(offset + rows, length - rows);
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

    /** Rows in the free list (equals capacity - used while the list is consistent). */
    int freeRows() {
        return free.values().stream().mapToInt(Integer::intValue).sum();
    }
}
