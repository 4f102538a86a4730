package io.flexiserve.api;

import io.flexiserve.FlexiServeConfig;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Bearer authentication in front of every route: {@code /v1/*} needs one of {@code flexiserve.api-keys} when
 * any are configured (open otherwise); {@code /admin/*} always needs {@code flexiserve.admin.token}, generated
 * and logged once at start when none is configured. Health, metrics, the OpenAPI document and the
 * playground's static files stay open: they carry no data and a browser cannot send a Bearer header for
 * them. Keys are compared in constant time and never logged.
 */
@ApplicationScoped
public class ApiAuth {

    private static final Logger LOG = Logger.getLogger(ApiAuth.class);

    private final List<byte[]> apiKeys;
    private final byte[] adminToken;
    private final ApiJson json;

    public ApiAuth(FlexiServeConfig config, ApiJson json) {
        Optional<String> adminToken = config.admin().token();
        this.apiKeys = config.apiKeys().orElse(List.of()).stream().filter(k -> !k.isBlank())
                .map(k -> k.trim().getBytes(StandardCharsets.UTF_8)).toList();
        this.adminToken = adminToken.filter(t -> !t.isBlank()).orElseGet(ApiAuth::generatedToken).getBytes(StandardCharsets.UTF_8);
        this.json = json;
    }

    private static String generatedToken() {
        byte[] random = new byte[24];
        new SecureRandom().nextBytes(random);
        String token = "fsa-" + HexFormat.of().formatHex(random);
        LOG.infof("no flexiserve.admin.token configured; generated admin token for this run: %s", token);
        return token;
    }

    void mount(@Observes Router router) {
        router.route().order(-1000).handler(this::check);
    }

    private void check(RoutingContext ctx) {
        String path = ctx.normalizedPath();
        if (path.startsWith("/v1/") && !apiKeys.isEmpty() && !matchesAny(bearer(ctx), apiKeys)) {
            deny(ctx, "invalid_api_key", "Incorrect or missing API key. Send it as 'Authorization: Bearer <key>'.");
        } else if (path.startsWith("/admin/") && !matchesAny(bearer(ctx), List.of(adminToken))) {
            deny(ctx, "invalid_admin_token", "The admin API needs 'Authorization: Bearer <admin token>'.");
        } else {
            ctx.next();
        }
    }

    private static byte[] bearer(RoutingContext ctx) {
        String header = ctx.request().getHeader("Authorization");
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        return header.substring(7).trim().getBytes(StandardCharsets.UTF_8);
    }

    /** Compares against every key, each in constant time, so timing reveals neither key nor position. */
    private static boolean matchesAny(byte[] presented, List<byte[]> keys) {
        boolean match = false;
        for (byte[] key : keys) {
            match |= presented != null && MessageDigest.isEqual(presented, key);
        }
        return match;
    }

    private void deny(RoutingContext ctx, String code, String message) {
        OpenAiException e = new OpenAiException(401, "invalid_request_error", code, null, message);
        ctx.response().setStatusCode(401).putHeader("Content-Type", "application/json")
                .putHeader("WWW-Authenticate", "Bearer").end(json.write(e.body()));
    }
}
