package dev.align4j.cli;

/** Lets tests in other packages run the CLI in-process. */
public final class CliTestAccess {
    private CliTestAccess() {}

    public record Result(int code, String out, String err) {}

    public static Result run(String... args) {
        CliTest.Result r = CliTest.run(args);
        return new Result(r.code(), r.out(), r.err());
    }
}
