package io.flexiserve.finetune;

/**
 * The learning rate at each optimizer step, as HF's {@code get_cosine_schedule_with_warmup}: a linear ramp
 * over {@code ceil(warmupRatio * total)} steps, then a half cosine down to 0. Step 0 is the first update.
 */
record CosineSchedule(double peak, int warmupSteps, int totalSteps) {

    static CosineSchedule of(double peak, double warmupRatio, int totalSteps) {
        return new CosineSchedule(peak, (int) Math.ceil(warmupRatio * totalSteps), totalSteps);
    }

    double at(int step) {
        if (step < warmupSteps) {
            return peak * step / Math.max(1, warmupSteps);
        }
        double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return peak * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
}
