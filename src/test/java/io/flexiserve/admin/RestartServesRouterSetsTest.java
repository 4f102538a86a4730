package io.flexiserve.admin;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flexiserve.DemoModel;
import io.flexiserve.api.TestSupport;
import io.flexiserve.model.ModelConfig;
import io.flexiserve.model.RouterWeights;
import io.flexiserve.model.checkpoint.SafetensorsWriter;
import io.flexiserve.model.checkpoint.TensorDtype;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A restart serves the router sets that were served when the service stopped (here written as a previous run would
 * have left them): a set served from a checkpoint under a name of its own comes back, one whose directory is gone
 * is dropped from the list.
 */
@QuarkusTest
@TestProfile(RestartServesRouterSetsTest.AfterARestart.class)
class RestartServesRouterSetsTest {

    static final Path DATA = Path.of("target/restart-test-data").toAbsolutePath();

    /** A data dir holding what a previous run served: one router set whose files are there, one whose are gone. */
    public static class AfterARestart implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Path set = DATA.resolve("fine_tuning/jobs/ftjob-0123456789abcdef01234567/work/checkpoints/step-6");
                Path demo = Files.createTempDirectory("demo");
                DemoModel.write(demo);
                writeRouterSet(ModelConfig.read(demo), set); // in plain Java: libtorch may not load before the app
                Files.writeString(DATA.resolve("served-router-sets.json"), "[{\"id\":\"kept-ckpt\",\"model\":\""
                        + DemoModel.NAME + "\",\"dir\":\"" + set + "\"},{\"id\":\"gone\",\"model\":\"" + DemoModel.NAME
                        + "\",\"dir\":\"" + DATA.resolve("nowhere") + "\"}]");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return Map.of("flexiserve.data-dir", DATA.toString(), "flexiserve.finetune.serve-results", "true");
        }
    }

    /** Random routers and adapters (seeded) for every routed layer of {@code base}, as a router set directory. */
    static void writeRouterSet(ModelConfig base, Path dir) throws IOException {
        Files.createDirectories(dir);
        base.write(dir);
        java.util.Random random = new java.util.Random(3);
        long d = base.hiddenSize();
        long r = base.routerDim();
        long m = base.adapterDim();
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (int layer : base.routingLayers()) {
            String p = "model.layers." + layer + ".";
            for (Map.Entry<String, long[]> t : Map.of("router.router_enc.weight", new long[] {r, d},
                    "router.router_norm.weight", new long[] {r}, "router.router_dec.weight", new long[] {d, r},
                    "router.router_head.weight", new long[] {1, d}, "router_proj.gate_proj.weight", new long[] {m, d},
                    "router_proj.down_proj.weight", new long[] {m, d}, "router_proj.up_proj.weight", new long[] {d, m})
                    .entrySet()) {
                float[] values = new float[(int) java.util.Arrays.stream(t.getValue()).reduce(1, (a, b) -> a * b)];
                for (int i = 0; i < values.length; i++) {
                    values[i] = t.getKey().endsWith("norm.weight") ? 1f : (float) (random.nextGaussian() * 0.02);
                }
                entries.add(SafetensorsWriter.Entry.of(p + t.getKey(), t.getValue(), values));
            }
        }
        SafetensorsWriter.write(dir.resolve(RouterWeights.FILE), TensorDtype.F32, entries);
    }

    @Test
    void theSetsServedBeforeAreServedAgain() throws Exception {
        TestSupport.awaitReady();
        TestSupport.await("kept-ckpt served again", 120,
                () -> given().get("/v1/models").then().extract().jsonPath().getList("data.id").contains("kept-ckpt"));
        given().contentType(ContentType.JSON).body("{\"model\":\"kept-ckpt\",\"prompt\":\"hi\",\"max_tokens\":2}")
                .post("/v1/completions").then().statusCode(200);
        String list = Files.readString(DATA.resolve("served-router-sets.json"));
        assertTrue(list.contains("kept-ckpt"), list);
        assertFalse(list.contains("\"gone\""), "a set whose directory is gone leaves the list: " + list);
        given().get("/v1/models/gone").then().statusCode(404);
    }
}
