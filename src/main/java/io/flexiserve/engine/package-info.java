/**
 * Generation on top of the model: per-request sampling parameters, the sampler, the scheduler, sequences, stop
 * rules and the step loop. May import {@code io.flexiserve.model},
 * java and DJL; never Quarkus, Jakarta, Micrometer or Mutiny.
 */
package io.flexiserve.engine;
