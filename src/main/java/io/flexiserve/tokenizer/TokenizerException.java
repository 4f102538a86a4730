package io.flexiserve.tokenizer;

/** Tokenizer files that cannot be used, or a chat that the template refuses; the message says why. */
public final class TokenizerException extends RuntimeException {

    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
