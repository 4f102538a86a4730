package io.flexiserve.engine;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The identity of a full KV block: a SHA-256 chained over everything its keys and values depend on, the blocks
 * before it (through {@code parent}), its tokens and the routing threshold (FlexiDepth: a skipped token's K/V depend
 * on the routing decisions below it, which depend on the threshold). The model is the engine's own (each served
 * router set has its engine and cache). A cryptographic hash, so that no request can forge another's prefix.
 */
record BlockKey(long a, long b, long c, long d) {

    static BlockKey of(BlockKey parent, int[] tokens, int from, int count, float threshold) {
        ByteBuffer bytes = ByteBuffer.allocate(32 + 4 + 4 * count);
        if (parent != null) {
            bytes.putLong(parent.a).putLong(parent.b).putLong(parent.c).putLong(parent.d);
        } else {
            bytes.position(32);
        }
        bytes.putFloat(threshold);
        for (int i = from; i < from + count; i++) {
            bytes.putInt(tokens[i]);
        }
        ByteBuffer digest = ByteBuffer.wrap(sha256().digest(bytes.array()));
        return new BlockKey(digest.getLong(), digest.getLong(), digest.getLong(), digest.getLong());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
