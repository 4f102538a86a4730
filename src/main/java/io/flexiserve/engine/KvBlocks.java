package io.flexiserve.engine;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;

/**
 * The paged KV cache's blocks of {@code blockSize} token rows: free, in use (reference counted, since a cached
 * prefix's blocks are shared read-only by every sequence that starts with it), or cached and unused, kept for a
 * later prompt with the same prefix until a block is needed and the least recently used one is evicted.
 * Engine thread only.
 *
 * <p>On the CPU the cache's pages become resident only when first written. A block is taken from the free ones
 * written before (the most recently freed first), then from the never-written ones, and only then by evicting a
 * cached one: the prefix cache keeps as much as the capacity allows, so under traffic the whole cache, which the
 * memory plan budgeted, becomes resident.
 */
final class KvBlocks {

    final int blockSize;
    private final int count;
    private final int[] refs;
    private final BlockKey[] keys;                        // a full block's identity once cached, else null
    private final ArrayDeque<Integer> free = new ArrayDeque<>();     // written before: most recently freed first
    private final ArrayDeque<Integer> untouched = new ArrayDeque<>(); // never written, in order
    private final LinkedHashSet<Integer> idle = new LinkedHashSet<>(); // cached, unused; least recently used first
    private final Map<BlockKey, Integer> cached = new HashMap<>();

    KvBlocks(int count, int blockSize) {
        if (count < 1 || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("need at least one block and a power-of-two block size, got " + count
                    + " blocks of " + blockSize);
        }
        this.count = count;
        this.blockSize = blockSize;
        this.refs = new int[count];
        this.keys = new BlockKey[count];
        for (int b = 0; b < count; b++) {
            untouched.add(b);
        }
    }

    /**
     * A block for new rows, now used once: a free one written before, else a never-written one, else the least
     * recently used cached one (evicted); -1 when none is left.
     */
    int allocate() {
        Integer block = free.poll();
        if (block != null && keys[block] != null) {
            throw new IllegalStateException("free block " + block + " still has a prefix identity");
        }
        if (block == null) {
            block = untouched.poll();
        }
        Iterator<Integer> oldest = idle.iterator();
        if (block == null && oldest.hasNext()) {
            block = oldest.next();
            oldest.remove();
            cached.remove(keys[block]);
            keys[block] = null;
        }
        if (block == null) {
            return -1;
        }
        refs[block] = 1;
        return block;
    }

    /** The cached block with this identity, now used once more; -1 when none is cached. */
    int lookup(BlockKey key) {
        Integer block = cached.get(key);
        if (block == null) {
            return -1;
        }
        if (refs[block]++ == 0) {
            idle.remove(block);
        }
        return block;
    }

    /** Records a block that has just been filled as the block with this identity (unless one is cached already). */
    void register(int block, BlockKey key) {
        if (refs[block] <= 0) {
            throw new IllegalStateException("block " + block + " is registered while nobody uses it");
        }
        if (keys[block] == null && !cached.containsKey(key)) {
            keys[block] = key;
            cached.put(key, block);
        }
    }

    /** One user less; an unused block stays cached if it has an identity, else becomes free. */
    void release(int block) {
        if (refs[block] <= 0) {
            throw new IllegalStateException("block " + block + " released more often than used");
        }
        if (--refs[block] == 0) {
            if (keys[block] != null) {
                idle.add(block);
            } else {
                free.push(block);
            }
        }
    }

    /** Blocks a sequence could get now: free, or cached and unused. */
    int available() {
        return free.size() + untouched.size() + idle.size();
    }

    int count() {
        return count;
    }

    int inUse() {
        return count - free.size() - untouched.size() - idle.size();
    }

    int cachedUnused() {
        return idle.size();
    }

    int free() {
        return free.size() + untouched.size();
    }
}
