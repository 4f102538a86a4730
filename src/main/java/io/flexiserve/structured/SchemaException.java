package io.flexiserve.structured;

/** A schema that cannot be compiled: the keyword at fault, where it is (a JSON pointer), and why. */
public final class SchemaException extends RuntimeException {

    private final String path;
    private final String keyword;
    private final String reason;

    SchemaException(String path, String keyword, String reason) {
        super(reason + " (at " + path + ")");
        this.path = path;
        this.keyword = keyword;
        this.reason = reason;
    }

    /** The same fault, said to be inside {@code where} (a tool's parameters). */
    SchemaException in(String where) {
        return new SchemaException(path, keyword, where + ": " + reason);
    }

    /** Where in the schema, as a JSON pointer from its root ({@code #/properties/a}). */
    public String path() {
        return path;
    }

    public String keyword() {
        return keyword;
    }
}
