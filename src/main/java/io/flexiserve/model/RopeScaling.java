package io.flexiserve.model;

/**
 * Llama 3.1 style RoPE frequency scaling ({@code rope_scaling} with {@code rope_type: "llama3"}).
 * Frequencies with wavelengths longer than {@code originalMaxPositions / lowFreqFactor} are divided by
 * {@code factor}, shorter than {@code originalMaxPositions / highFreqFactor} are kept, and the band
 * between is interpolated smoothly (HF {@code _compute_llama3_parameters}).
 */
public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {

    /** Scales one inverse frequency as HF does, in float32. */
    float apply(float invFreq) {
        double lowFreqWavelen = originalMaxPositions / lowFreqFactor;
        double highFreqWavelen = originalMaxPositions / highFreqFactor;
        double wavelen = 2 * Math.PI / invFreq;
        if (wavelen < highFreqWavelen) {
            return invFreq;
        }
        if (wavelen > lowFreqWavelen) {
            return (float) (invFreq / factor);
        }
        double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return (float) ((1 - smooth) * invFreq / factor + smooth * invFreq);
    }
}
