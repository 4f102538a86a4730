package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;

/**
 * A gated feed-forward block {@code out(silu(gate x) * value x)}. The Llama MLP is
 * {@code down_proj(silu(gate_proj h) * up_proj h)}; the FlexiDepth adapter ({@code router_proj}) swaps the
 * names: {@code up_proj(silu(gate_proj u) * down_proj u)}. {@link ModelLoader} does that mapping.
 */
final class SwiGlu {

    final Linear gate;  // (F, D) for the MLP, (M, D) for the adapter
    final Linear value; // (F, D) or (M, D)
    final Linear out;   // (D, F) or (D, M)

    SwiGlu(Linear gate, Linear value, Linear out) {
        this.gate = gate;
        this.value = value;
        this.out = out;
    }

    /** x: (N, D) -> (N, D). */
    NDArray forward(NDArray x) {
        NDArray g = gate.forward(x);
        return out.forward(g.mul(Activation.sigmoid(g)).mul(value.forward(x)));
    }

    /** The Java form for the Java path's rows, each weight as {@code pack} gives it. */
    JavaLayer.SwiGluRows javaForm(JavaLayer.Packer pack) {
        return new JavaLayer.SwiGluRows(pack.apply(gate), pack.apply(value), pack.apply(out));
    }

    /** Whether every weight is stored for the Java kernels. */
    boolean packed() {
        return gate.packed() && value.packed() && out.packed();
    }

    /** Whether every weight is stored for the Java kernels or can be packed for them. */
    boolean packable() {
        return gate.packable() && value.packable() && out.packable();
    }
}
