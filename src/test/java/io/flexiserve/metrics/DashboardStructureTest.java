package io.flexiserve.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** dashboards/flexiserve.json: importable anywhere (datasource variable, no __inputs), every panel queryable. */
class DashboardStructureTest {

    private final JsonNode dashboard;

    DashboardStructureTest() throws Exception {
        dashboard = new ObjectMapper().readTree(Path.of("dashboards/flexiserve.json").toFile());
    }

    @Test
    void variablesAreDatasourceAndModelWithoutInputs() {
        assertFalse(dashboard.has("__inputs"), "no __inputs: the file is provisioned as is");
        JsonNode vars = dashboard.path("templating").path("list");
        assertEquals("DS_PROMETHEUS", vars.get(0).path("name").asText());
        assertEquals("datasource", vars.get(0).path("type").asText());
        assertEquals("prometheus", vars.get(0).path("query").asText());
        assertEquals("model", vars.get(1).path("name").asText());
        assertTrue(vars.get(1).path("definition").asText().contains("model"));
    }

    @Test
    void everyPanelHasADatasourceAQueryAndAUniqueId() {
        Set<Integer> ids = new HashSet<>();
        int queried = 0;
        for (JsonNode panel : dashboard.path("panels")) {
            assertTrue(ids.add(panel.path("id").asInt()), "duplicate panel id " + panel.path("id"));
            if (panel.path("type").asText().equals("row")) {
                continue;
            }
            String title = panel.path("title").asText();
            assertEquals("${DS_PROMETHEUS}", panel.path("datasource").path("uid").asText(), title);
            assertTrue(panel.path("targets").size() > 0, title + " has no query");
            for (JsonNode target : panel.path("targets")) {
                assertFalse(target.path("expr").asText().isBlank(), title + " has an empty query");
                assertEquals("${DS_PROMETHEUS}", target.path("datasource").path("uid").asText(), title);
            }
            queried++;
        }
        assertTrue(queried >= 12, "panels with queries: " + queried);
    }

    @Test
    void coversTheMetricsContract() {
        String text = dashboard.toString();
        for (String family : List.of("flexidepth_layers_used_bucket", "flexidepth_layer_tokens_total", "flexiserve_prompt_tokens_total",
                "flexiserve_generation_tokens_total", "flexiserve_time_to_first_token_seconds_bucket",
                "flexiserve_inter_token_latency_seconds_bucket", "flexiserve_e2e_request_latency_seconds_bucket",
                "flexiserve_requests_running", "flexiserve_requests_waiting", "flexiserve_kv_cache_usage_ratio",
                "flexiserve_requests_finished_total", "flexiserve_requests_rejected_total")) {
            assertTrue(text.contains(family), "no panel shows " + family);
        }
    }
}
