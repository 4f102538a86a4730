package io.flexiserve;

/** The model cannot fit the memory this process may use; the message names the need, what is free and what would fit. */
final class MemoryBudgetException extends RuntimeException {

    MemoryBudgetException(String message) {
        super(message);
    }
}
