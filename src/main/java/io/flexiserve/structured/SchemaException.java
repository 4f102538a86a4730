package io.flexiserve.structured;

/** A schema that cannot be compiled: the keyword at fault, where it is (a JSON pointer), and why. */
public final class SchemaException extends RuntimeException {

    private final String path;
    private final String keyword;

    SchemaException(String path, String keyword, String message) {
        super(message + " (at " + path + ")");
        this.path = path;
        this.keyword = keyword;
    }

    /** Where in the schema, as a JSON pointer from its root ({@code #/properties/a}). */
    public String path() {
        return path;
    }

    public String keyword() {
        return keyword;
    }
}
