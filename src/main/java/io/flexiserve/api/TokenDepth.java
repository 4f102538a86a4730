package io.flexiserve.api;

/**
 * How deep one generated token went: the layers its forward row ran, and which routed layers ran, as one
 * character per routed layer in order ('1' ran the layer, '0' took the adapter).
 */
record TokenDepth(int layers, String routed) {

    static TokenDepth of(io.flexiserve.engine.GeneratedToken token) {
        StringBuilder sb = new StringBuilder(token.routedRan().length);
        for (boolean ran : token.routedRan()) {
            sb.append(ran ? '1' : '0');
        }
        return new TokenDepth(token.layersUsed(), sb.toString());
    }
}
