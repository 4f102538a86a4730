package io.flexiserve.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The jar's commands; with no command, the jar starts the service instead. */
@Command(name = "flexiserve", mixinStandardHelpOptions = true,
        subcommands = {GenerateCheckpointCommand.class, GenerateCommand.class, TrainCommand.class,
                io.flexiserve.bench.BenchCommand.class, CommandLine.HelpCommand.class},
        description = "FlexiServe command-line tools (run the jar without a command to start the service).")
public final class FlexiServeCli {

    /**
     * Whether these arguments are for the commands rather than the service: any at all (the service takes its
     * configuration from system properties and the environment, never from arguments), so that a typo or an unknown
     * option gets a usage error instead of a service starting.
     */
    public static boolean isCommand(String... args) {
        return args.length > 0;
    }

    public static int run(String... args) {
        return new CommandLine(new FlexiServeCli()).execute(args);
    }
}
