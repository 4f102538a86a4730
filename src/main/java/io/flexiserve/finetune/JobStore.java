package io.flexiserve.finetune;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.flexiserve.model.FileTrees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Job records on disk, one directory per job under {@code <data-dir>/fine_tuning/jobs/<id>/}: {@code job.json}
 * (replaced atomically: written beside, then renamed), {@code events.jsonl} (appended), and {@code work/}
 * (the trainer's checkpoints and output). A record that cannot be read is reported, never dropped or
 * overwritten.
 */
public final class JobStore {

    static final String RECORD = "job.json";
    private static final String RESUME_MARK = "resume-requested";
    static final String EVENTS = "events.jsonl";
    private final ObjectMapper json = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private final Path jobs;

    public JobStore(Path dataDir) {
        this.jobs = dataDir.resolve("fine_tuning").resolve("jobs");
    }

    /** A job record that could not be read: its id (the directory name), file and why. */
    public record Unreadable(String id, Path file, String reason) {
    }

    /** Everything on disk: readable jobs, oldest first, and the records that could not be read. */
    public record Loaded(List<FineTuningJob> jobs, List<Unreadable> unreadable) {
    }

    public Loaded load() {
        List<FineTuningJob> loaded = new ArrayList<>();
        List<Unreadable> unreadable = new ArrayList<>();
        if (!Files.isDirectory(jobs)) {
            return new Loaded(loaded, unreadable);
        }
        try (Stream<Path> dirs = Files.list(jobs)) {
            for (Path dir : dirs.filter(Files::isDirectory).sorted().toList()) {
                Path file = dir.resolve(RECORD);
                try {
                    loaded.add(json.readValue(file.toFile(), FineTuningJob.class));
                } catch (IOException e) {
                    unreadable.add(new Unreadable(dir.getFileName().toString(), file, e.getMessage().lines().findFirst().orElse("")));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + jobs, e);
        }
        loaded.sort(java.util.Comparator.comparingLong(FineTuningJob::createdAt).thenComparing(FineTuningJob::id));
        return new Loaded(loaded, unreadable);
    }

    /** Replaces the job's record atomically. */
    public void save(FineTuningJob job) {
        Path dir = jobs.resolve(job.id());
        try {
            Files.createDirectories(dir);
            Path tmp = dir.resolve(RECORD + ".tmp");
            Files.write(tmp, json.writerWithDefaultPrettyPrinter().writeValueAsBytes(job));
            FileTrees.replace(tmp, dir.resolve(RECORD));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save job " + job.id(), e);
        }
    }

    public void append(String jobId, JobEvent event) {
        try {
            Path dir = jobs.resolve(jobId);
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(EVENTS), json.writeValueAsString(event) + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append an event of job " + jobId, e);
        }
    }

    /** The job's events, oldest first; a torn last line (a crash mid-append) is skipped. */
    public List<JobEvent> events(String jobId) {
        Path file = jobs.resolve(jobId).resolve(EVENTS);
        List<JobEvent> events = new ArrayList<>();
        if (!Files.exists(file)) {
            return events;
        }
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                try {
                    events.add(json.readValue(line, JobEvent.class));
                } catch (IOException e) {
                    // only a torn final append can be malformed; every complete line was written whole
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read events of job " + jobId, e);
        }
        return events;
    }

    /**
     * Records that the job was resumed, until its runner has it ({@code false}): a restart in between hands it over
     * as resumed (a Kubernetes runner replaces the failed trainer Job then, instead of reporting its failure again).
     */
    public void resumeRequested(String jobId, boolean requested) {
        Path mark = jobs.resolve(jobId).resolve(RESUME_MARK);
        try {
            if (requested) {
                Path tmp = jobs.resolve(jobId).resolve(RESUME_MARK + ".tmp");
                Files.write(tmp, new byte[0]);
                FileTrees.replace(tmp, mark);
            } else {
                Files.deleteIfExists(mark);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record the resume of job " + jobId, e);
        }
    }

    /** Whether the job was resumed and not yet handed to its runner ({@link #resumeRequested}). */
    public boolean resumeRequested(String jobId) {
        return Files.exists(jobs.resolve(jobId).resolve(RESUME_MARK));
    }

    /** Where the trainer of this job keeps checkpoints and output. */
    public Path workDir(String jobId) {
        return jobs.resolve(jobId).resolve("work");
    }
}
