package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.util.List;

/**
 * The forward pass that fine-tuning differentiates: whole sequences through a frozen base model whose routed
 * layers use the trainable {@link RouterWeights}, and the FlexiDepth loss of docs/model.md section 6,
 * {@code L = CE + alpha * mean_t((sum over routed layers of w_t)^2)}, both over real (non-padding) tokens.
 * The layers before the first routed one see no trainable tensor, so autograd records nothing for them.
 */
public final class TrainingPass {

    private final FlexiDepthModel model;
    private final DecoderLayer[] layers;
    private final int unrouted;

    /** {@code model}'s weights stay frozen; {@code routers} are used as they are, so gradients reach them. */
    public TrainingPass(FlexiDepthModel model, RouterWeights routers) {
        this.model = model;
        this.layers = model.layersWith(routers, Linear::new, array -> array);
        this.unrouted = routers.config().unroutedLayers();
    }

    /** The loss to differentiate and its parts, read back as numbers. */
    public record Losses(NDArray loss, double lmLoss, double skipLoss, double layersUsed, int tokens) {
    }

    /**
     * One batch of token sequences (each at least 2 tokens); call inside an {@code NDScope}. Every constant in the
     * graph is a tensor that lives until the scope ends: DJL's {@code mul(Number)} and friends free their scalar
     * right after the op, while autograd still reads it in the backward pass.
     */
    public Losses forward(List<int[]> sequences, double alpha) {
        Sequences seq = new Sequences(sequences, model.manager(), model.rope());
        long d = model.config().hiddenSize();
        NDArray x = model.embedTokens().get(seq.tokens.reshape(-1)).reshape(seq.batch, seq.length, d); // (B, T, D)
        NDArray gateSum = null; // (B, T, 1) sum over routed layers of w
        NDArray runSum = null;  // (B, T, 1) routed layers run
        for (DecoderLayer layer : layers) {
            DecoderLayer.Gated out = layer.forwardSequences(x, seq);
            x = out.y();
            if (out.w() != null) {
                gateSum = gateSum == null ? out.w() : gateSum.add(out.w());
                runSum = runSum == null ? out.run() : runSum.add(out.run());
            }
        }
        NDArray logits = model.lmHead().forward(model.norm().forward(x)).toType(DataType.FLOAT32, false); // (B, T, V)
        NDArray predicted = seq.predicted();                                                             // (B, T-1)
        NDArray targets = seq.tokens.get(":, 1:").expandDims(-1);                                         // (B, T-1, 1)
        NDArray logProbs = logits.get(":, :-1, :").logSoftmax(-1).gather(targets, -1).squeeze(-1);       // (B, T-1)
        NDArray lm = logProbs.mul(predicted).sum().neg().div(predicted.sum());
        NDArray valid = seq.valid.expandDims(-1);                                                         // (B, T, 1)
        float realTokens = seq.realTokens;
        NDArray skip = gateSum == null ? lm.zerosLike() : gateSum.square().mul(valid).sum().div(valid.sum());
        double layersUsed = unrouted + (runSum == null ? 0 : runSum.mul(valid).sum().getFloat() / realTokens);
        NDArray loss = skip.mul(model.manager().create((float) alpha)).add(lm);
        return new Losses(loss, lm.getFloat(), skip.getFloat(), layersUsed, seq.realTokens);
    }
}
