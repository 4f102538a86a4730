package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;

/**
 * The FlexiDepth router of one routed layer (docs/model.md section 3):
 * {@code w = sigmoid(W_head W_dec tanh(RMSNorm_r(W_enc h)))}, no biases, norm before tanh. With
 * {@link #premultiplied()} the two linear maps {@code W_head W_dec} (no nonlinearity between them) are
 * replaced by their product, which costs one (1, R) matvec instead of (D, R) + (1, D).
 */
final class Router {

    final Linear routerEnc;  // (R, D)
    final RmsNorm routerNorm; // (R)
    final Linear routerDec;  // (D, R), null when premultiplied
    final Linear routerHead; // (1, D), or (1, R) when premultiplied

    Router(Linear routerEnc, RmsNorm routerNorm, Linear routerDec, Linear routerHead) {
        this.routerEnc = routerEnc;
        this.routerNorm = routerNorm;
        this.routerDec = routerDec;
        this.routerHead = routerHead;
    }

    /** h: (N, D), the input-normed hidden state -> w: (N, 1), the gate in (0, 1). */
    NDArray forward(NDArray h) {
        NDArray z = routerNorm.forward(routerEnc.forward(h)).tanh(); // (N, R)
        NDArray logit = routerDec == null ? routerHead.forward(z) : routerHead.forward(routerDec.forward(z));
        return Activation.sigmoid(logit);
    }

    /** The same router with {@code W_head W_dec} multiplied out (a tiny numeric change; optional). */
    Router premultiplied() {
        if (routerDec == null) {
            return this;
        }
        NDArray product = routerHead.weight().matMul(routerDec.weight()); // (1, D) x (D, R) = (1, R)
        return new Router(routerEnc, routerNorm, null, new Linear(product));
    }

    /**
     * The routing decision, the one place every path takes it: a token runs the layer when its gate {@code w} is
     * strictly above its request's threshold (as the release), and takes the adapter otherwise.
     */
    static boolean runs(float w, float threshold) {
        return w > threshold;
    }

    /** The Java form for the Java path's rows, each weight as {@code pack} gives it. */
    JavaLayer.RouterRows javaForm(JavaLayer.Packer pack) {
        return new JavaLayer.RouterRows(pack.apply(routerEnc), JavaNorm.of(routerNorm),
                routerDec == null ? null : pack.apply(routerDec), pack.apply(routerHead));
    }

    /** Whether every weight is stored for the Java kernels or can be packed for them. */
    boolean packable() {
        return routerEnc.packable() && routerHead.packable() && (routerDec == null || routerDec.packable());
    }
}
