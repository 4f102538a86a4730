package io.flexiserve;

import io.flexiserve.cli.FlexiServeCli;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;

/**
 * The jar's entry point: {@code java -jar quarkus-run.jar} starts the service; with a command
 * ({@code generate-checkpoint}, {@code generate}, {@code --help}) it runs that command without starting
 * Quarkus or binding a port.
 */
@QuarkusMain
public final class FlexiServeMain {

    private FlexiServeMain() {
    }

    public static void main(String... args) {
        if (System.getProperty("ai.djl.offline") == null && System.getenv("DJL_OFFLINE") == null) {
            System.setProperty("ai.djl.offline", "true"); // nothing may be downloaded at run time
        }
        if (FlexiServeCli.isCommand(args)) {
            System.exit(FlexiServeCli.run(args));
        }
        Quarkus.run(args);
    }
}
