package io.flexiserve.finetune;

/** A fine-tuning request that cannot be accepted, naming the parameter at fault (a 400 at the HTTP surface). */
public final class JobSpecException extends RuntimeException {

    private final String param;

    public JobSpecException(String param, String message) {
        super(message);
        this.param = param;
    }

    public String param() {
        return param;
    }
}
