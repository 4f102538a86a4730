/**
 * The one place that turns engine statistics into Micrometer meters (Prometheus names in docs/architecture.md section 7).
 * May import {@code engine} statistics, the {@code api} model endpoint and Micrometer.
 */
package io.flexiserve.metrics;
