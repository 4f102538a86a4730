package io.flexiserve.finetune;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flexiserve.model.FileTrees;
import io.flexiserve.model.RouterWeights;
import io.flexiserve.model.checkpoint.CheckpointTensors;
import io.flexiserve.model.checkpoint.SafetensorsWriter;
import io.flexiserve.model.checkpoint.TensorDtype;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A training checkpoint directory, {@code checkpoints/step-000010/}: the router set ({@code router.safetensors}
 * and a {@code config.json} with the routing layers, so the directory can be served as it is), the optimizer
 * moments and {@code trainer_state.json}. Written to a hidden temporary directory and renamed into place, so
 * a crash never leaves a half-written checkpoint under a real name.
 */
final class TrainingCheckpoint {

    static final String OPTIMIZER = "optimizer.safetensors";
    static final String STATE = "trainer_state.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What resuming needs besides the tensors. */
    record State(int step, long trainedTokens, StepMetrics metrics) {
    }

    private TrainingCheckpoint() {
    }

    static Path dirFor(Path checkpoints, int step) {
        return checkpoints.resolve(String.format("step-%06d", step));
    }

    /** Writes the router set (and, for a checkpoint, the optimizer state) to {@code target} atomically. */
    static void write(Path target, RouterWeights routers, AdamW optimizer, State state) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        FileTrees.delete(tmp);
        Files.createDirectories(tmp);
        routers.write(tmp.resolve(RouterWeights.FILE));
        routers.config().write(tmp);
        if (optimizer != null) {
            List<SafetensorsWriter.Entry> entries = new ArrayList<>();
            optimizer.state().forEach((name, array) ->
                    entries.add(SafetensorsWriter.Entry.of(name, array.getShape().getShape(), array.toFloatArray())));
            SafetensorsWriter.write(tmp.resolve(OPTIMIZER), TensorDtype.F32, entries);
        }
        JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.resolve(STATE).toFile(), state);
        FileTrees.delete(target);
        FileTrees.replace(tmp, target);
    }

    /** The newest complete checkpoint under {@code checkpoints}, if any. */
    static Optional<Path> latest(Path checkpoints) throws IOException {
        if (!Files.isDirectory(checkpoints)) {
            return Optional.empty();
        }
        try (Stream<Path> dirs = Files.list(checkpoints)) {
            return dirs.filter(d -> d.getFileName().toString().startsWith("step-") && Files.exists(d.resolve(STATE)))
                    .max(Comparator.comparing(d -> d.getFileName().toString()));
        }
    }

    static State readState(Path dir) throws IOException {
        return JSON.readValue(dir.resolve(STATE).toFile(), State.class);
    }

    /** The optimizer moments of a checkpoint by name. */
    static Map<String, float[]> readOptimizer(Path dir, ai.djl.ndarray.NDManager manager) {
        Map<String, float[]> state = new LinkedHashMap<>();
        try (CheckpointTensors tensors = CheckpointTensors.openFile(dir.resolve(OPTIMIZER))) {
            tensors.shapes().forEach((name, shape) -> {
                NDArray a = tensors.load(manager, name, ai.djl.ndarray.types.DataType.FLOAT32, shape);
                state.put(name, a.toFloatArray());
                a.close();
            });
        }
        return state;
    }
}
