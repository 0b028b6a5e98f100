package dev.align4j.cli;

import dev.align4j.core.UserError;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * The {@code align4j} launcher: one subcommand per job. Exit codes: 0 success, 2 a user error (one line
 * naming the file or field, no stack trace), 1 an internal failure (stack trace with --debug).
 */
@Command(name = "align4j", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT, version = "align4j 0.1.0",
        description = "Improve language models from feedback, on the JVM.",
        subcommands = {QuickstartCommand.class, SftCommand.class, RewardCommand.class, PreferenceModelCommand.class, PrmCommand.class, DpoCommand.class, KtoCommand.class, ListwiseCommand.class, GrpoCommand.class, GrpoCommand.Rloo.class, GrpoCommand.ReinforcePlusPlus.class, PpoCommand.class, OnlineDpoCommand.class, SppoCommand.class, InpoCommand.class, NashMdCommand.class, DnoCommand.class, SpoCommand.class, RftCommand.class, ScoreCommand.class, CriticCommand.class, JudgeCommand.class, SelfRewardCommand.class, MctsCommand.class, ValueModelCommand.class, BestOfNCommand.class, EvalCommand.class, StudyCommand.class, ExportCommand.class, InfoCommand.class, GenerateCommand.class, LaunchCommand.class, MergeCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.err);
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    private static String invocation = "";

    /** The arguments of the running command, shell-quoted: what a model card and a report give as the way to reproduce it. */
    static String invocation() { return invocation; }

    /** Runs the CLI and returns the exit code (tests call this instead of main). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        boolean debug = java.util.Arrays.asList(args).contains("--debug");
        invocation = String.join(" ", java.util.Arrays.stream(args).map(a -> a.matches("[\\w./:,=@+-]+") ? a : "'" + a.replace("'", "'\\''") + "'").toList());
        boolean launch = args.length > 0 && args[0].equals("launch");   // its COMMAND's flags (--config too) belong to the ranks
        try {
            String[] rest = ConfigFile.strip(launch ? new String[0] : args);
            if (!launch) args = rest;
        } catch (UserError e) {
            err.println("error: " + e.getMessage());
            return 2;
        }
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.getSubcommands().get("launch").setStopAtPositional(true).setUnmatchedOptionsArePositionalParams(true);
        try {
            ConfigFile.install(cl, args);
        } catch (UserError e) {
            err.println("error: " + e.getMessage());
            return 2;
        }
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            Throwable t = ex;
            while (t != null && !(t instanceof UserError)) t = t.getCause();
            if (t != null) {
                err.println("error: " + t.getMessage());
                if (debug) ex.printStackTrace(err);
                return 2;
            }
            err.println("internal error: " + ex + (debug ? "" : " (run with --debug for the stack trace)"));
            if (debug) ex.printStackTrace(err);
            return 1;
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("error: " + ex.getMessage());
            err.println("(see '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
            return 2;
        });
        return cl.execute(args);
    }
}
