package io.flexiserve.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flexiserve.model.ModelConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The jar's commands: generating a checkpoint of a given shape, and deterministic generation from it. */
class CliTest {

    @TempDir
    Path dir;

    @Test
    void generateCheckpointWritesTheRequestedShape() throws Exception {
        Path out = dir.resolve("ckpt");
        assertEquals(0, FlexiServeCli.run("generate-checkpoint", "--out", out.toString(), "--hidden", "64",
                "--intermediate", "128", "--layers", "6", "--heads", "4", "--kv-heads", "2", "--routed", "2,4-5",
                "--shards", "2", "--dtype", "BF16"));
        ModelConfig config = ModelConfig.read(out);
        assertEquals(List.of(2, 4, 5), config.routingLayers());
        assertEquals(16, config.headDim());
        assertTrue(Files.exists(out.resolve("model.safetensors.index.json")));
        assertTrue(Files.exists(out.resolve("tokenizer.json")));
        assertEquals(List.of(6, 7, 8, 9, 10, 11), GenerateCheckpointCommand.parseRouted("second-half", 12));
    }

    @Test
    void generateIsDeterministicForASeedAndReportsLayersPerToken() throws Exception {
        Path ckpt = dir.resolve("ckpt");
        FlexiServeCli.run("generate-checkpoint", "--out", ckpt.toString(), "--hidden", "64", "--intermediate", "128",
                "--layers", "4", "--heads", "4", "--kv-heads", "2", "--routed", "2-3");
        String first = generate(ckpt, "5");
        String again = generate(ckpt, "5");
        String other = generate(ckpt, "6");
        assertEquals(text(first), text(again), "same seed, same text");
        assertNotEquals(text(first), text(other), "another seed, other text");
        String layers = first.lines().filter(l -> l.startsWith("layers per token: ")).findFirst().orElseThrow();
        int count = layers.substring(layers.indexOf('[') + 1, layers.indexOf(']')).split(", ").length;
        assertEquals(10, count, "one layer count per generated token: " + layers);
        assertTrue(first.contains("generated 10 tokens"), first);
        try (io.flexiserve.tokenizer.Tokenizer tokenizer = io.flexiserve.tokenizer.Tokenizer.load(ckpt)) {
            int withBos = tokenizer.encodeWithSpecialTokens("Once upon a time").length;
            assertEquals(tokenizer.encode("Once upon a time").length + 1, withBos, "the post-processor adds BOS");
            assertTrue(first.contains("prompt " + withBos + " tokens"), "encoded as /v1/completions encodes it: " + first);
        }
    }

    @Test
    void trainRunsAJobAsATrainerPodDoesPrintingJsonLines() throws Exception {
        Path ckpt = dir.resolve("demo");
        Path data = dir.resolve("train.jsonl");
        String json = trainingInputs(ckpt, data, 1, 1);
        Path work = dir.resolve("work");
        String out = capture(0, "train", "--checkpoint", ckpt.toString(), "--training-file", data.toString(),
                "--work-dir", work.toString(), "--hyperparameters", json, "--device", "cpu");
        List<io.flexiserve.finetune.StepMetrics> steps = new java.util.ArrayList<>();
        List<String> outcomes = new java.util.ArrayList<>();
        io.flexiserve.finetune.TrainingListener recorder = new io.flexiserve.finetune.TrainingListener() {
            @Override
            public void message(String text) {
            }

            @Override
            public void step(io.flexiserve.finetune.StepMetrics m) {
                steps.add(m);
            }

            @Override
            public void checkpoint(Path d, io.flexiserve.finetune.StepMetrics m) {
            }
        };
        out.lines().forEach(l -> io.flexiserve.finetune.TrainerLog.replay(l, recorder).ifPresent(outcomes::add));
        assertEquals(2, steps.size(), out);
        assertEquals(List.of("succeeded: " + work.resolve("output")), outcomes);
        assertTrue(Files.exists(work.resolve("output").resolve("router.safetensors")));
        assertTrue(Files.exists(work.resolve("checkpoints").resolve("step-000001")), "a checkpoint every step");

        Files.writeString(data, "not json\n");
        String failed = capture(2, "train", "--checkpoint", ckpt.toString(), "--training-file", data.toString(),
                "--work-dir", dir.resolve("work2").toString(), "--hyperparameters", json);
        assertTrue(failed.contains("\"event\":\"failed\"") && failed.contains("line 1: not valid JSON"), failed);
    }

    /** SIGTERM (a trainer pod deleted) ends the step under way and the trainer says so before the JVM halts. */
    @Test
    void aTrainerStoppedBySigtermSaysItWasCancelled() throws Exception {
        Path ckpt = dir.resolve("demo-sigterm");
        Path data = dir.resolve("sigterm.jsonl");
        String json = trainingInputs(ckpt, data, 100, 1000);
        Process trainer = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                "io.flexiserve.FlexiServeMain", "train", "--checkpoint", ckpt.toString(), "--training-file", data.toString(),
                "--work-dir", dir.resolve("work-sigterm").toString(), "--hyperparameters", json, "--device", "cpu")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        List<String> out = new java.util.ArrayList<>();
        try (var reader = new java.io.BufferedReader(new java.io.InputStreamReader(trainer.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                out.add(line);
                if (line.contains("\"event\":\"step\"")) {
                    // SIGTERM, 200 steps from done (Process.destroy would also close this stream)
                    trainer.toHandle().destroy();
                }
            }
        } finally {
            trainer.destroyForcibly();
        }
        assertTrue(trainer.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
        assertTrue(out.stream().anyMatch(l -> l.contains("\"event\":\"cancelled\"")), String.join("\n", out));
    }

    /**
     * The demo checkpoint at {@code ckpt}, eight short conversations at {@code data} (two steps an epoch), and the
     * hyperparameters of {@code epochs} epochs with a checkpoint every {@code interval} steps, as the trainer's JSON.
     */
    private static String trainingInputs(Path ckpt, Path data, int epochs, int interval) throws Exception {
        io.flexiserve.DemoModel.write(ckpt);
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            lines.append("{\"messages\":[{\"role\":\"user\",\"content\":\"hi ").append(i)
                    .append("\"},{\"role\":\"assistant\",\"content\":\"hello ").append(i).append("\"}]}\n");
        }
        Files.writeString(data, lines);
        var hp = new io.flexiserve.finetune.Hyperparameters("custom", 0.01, 1e-3, epochs, 4, 1, 256, 0, 0, 1, interval, 42,
                List.of());
        return new com.fasterxml.jackson.databind.ObjectMapper()
                .setPropertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE).writeValueAsString(hp);
    }

    private static String capture(int exitCode, String... args) {
        PrintStream stdout = System.out;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            assertEquals(exitCode, FlexiServeCli.run(args));
        } finally {
            System.setOut(stdout);
        }
        return buffer.toString(StandardCharsets.UTF_8);
    }

    private static String text(String output) {
        return output.substring(0, output.indexOf("layers per token: "));
    }

    private static String generate(Path ckpt, String seed) {
        return capture(0, "generate", "--model", ckpt.toString(), "--prompt", "Once upon a time", "--max-tokens", "10",
                "--temperature", "1.0", "--seed", seed);
    }

    /** Any argument is for the commands: a typo or an unknown option is a usage error, never a service starting. */
    @Test
    void unknownArgumentsAreAUsageErrorAndHelpIsACommand() {
        assertTrue(FlexiServeCli.isCommand("generat"));
        assertTrue(!FlexiServeCli.isCommand(), "no argument: the service");
        assertEquals(2, FlexiServeCli.run("generat"));
        assertEquals(2, FlexiServeCli.run("--port", "8080"));
        assertEquals(0, FlexiServeCli.run("help"));
        assertEquals(0, FlexiServeCli.run("help", "generate"));
    }

    /** A shape the loader would refuse is refused before any weight is written: a usage error, nothing on disk. */
    @Test
    void generateCheckpointRefusesShapesThatWouldNotLoad(@TempDir Path dir) {
        for (String[] bad : List.of(new String[] {"--routed", "8"}, new String[] {"--routed", "6-4"},
                new String[] {"--routed", "4,4"}, new String[] {"--tokenizer", "Byte"},
                new String[] {"--rope-scaling", "Llama3"})) {
            Path out = dir.resolve(String.join("_", bad).replace(",", "+"));
            List<String> args = new java.util.ArrayList<>(List.of("generate-checkpoint", "--out", out.toString()));
            args.addAll(List.of(bad));
            assertEquals(2, FlexiServeCli.run(args.toArray(String[]::new)), String.join(" ", bad));
            assertTrue(!java.nio.file.Files.exists(out.resolve("config.json")), "nothing written for " + String.join(" ", bad));
        }
    }

    /** Sampling values no request could use are refused before the model loads (minutes at 8B), as usage errors. */
    @Test
    void generateRefusesBadValuesBeforeLoading() {
        Path nowhere = dir.resolve("no-checkpoint-here"); // never read: the values are refused first
        assertEquals(2, FlexiServeCli.run("generate", "--model", nowhere.toString(), "--prompt", "hi", "--top-p", "0"));
        assertEquals(2, FlexiServeCli.run("generate", "--model", nowhere.toString(), "--prompt", "hi", "--max-tokens", "-5"));
        assertEquals(2, FlexiServeCli.run("generate", "--model", nowhere.toString(), "--prompt", ""));
    }
}
