package io.flexiserve.cli;

import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The jar's commands; with no command, the jar starts the service instead. */
@Command(name = "flexiserve", mixinStandardHelpOptions = true,
        subcommands = {GenerateCheckpointCommand.class, GenerateCommand.class, TrainCommand.class,
                io.flexiserve.bench.BenchCommand.class},
        description = "FlexiServe command-line tools (run the jar without a command to start the service).")
public final class FlexiServeCli {

    private static final Set<String> COMMANDS = Set.of("generate-checkpoint", "generate", "train", "bench", "help", "--help", "-h");

    /** Whether these arguments name a command rather than starting the service. */
    public static boolean isCommand(String... args) {
        return args.length > 0 && COMMANDS.contains(args[0]);
    }

    public static int run(String... args) {
        return new CommandLine(new FlexiServeCli()).execute(args);
    }
}
