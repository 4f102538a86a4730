package io.flexiserve.model;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Removing a directory with everything under it, and putting files in place so that a power loss keeps them whole. */
public final class FileTrees {

    private FileTrees() {
    }

    /** Deletes {@code dir} and everything under it, deepest first; nothing when it does not exist. */
    public static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(dir)) {
            paths = walk.sorted(Comparator.reverseOrder()).toList();
        }
        for (Path p : paths) {
            Files.deleteIfExists(p);
        }
    }

    /**
     * Renames {@code written} (a file, or a directory of files, fully written) to {@code target} atomically, replacing
     * it, after forcing its bytes to the disk, and then forces the rename itself (the parent directory): a crash or a
     * power loss leaves the old {@code target} or the new one, never a new name over bytes the disk never got.
     */
    public static void replace(Path written, Path target) throws IOException {
        // a channel closes itself on an interrupted thread (a trainer stopped at shutdown records its state last):
        // the interrupt waits until the record is in place
        boolean interrupted = Thread.interrupted();
        try {
            if (Files.isDirectory(written)) {
                try (Stream<Path> files = Files.list(written)) {
                    for (Path f : files.toList()) {
                        force(f);
                    }
                }
            }
            force(written);
            Files.move(written, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            force(target.toAbsolutePath().getParent());
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Forces a file's (or a directory's entries') changes to the disk; a file system that cannot is passed by. */
    private static void force(Path path) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            if (!Files.isDirectory(path)) { // some file systems refuse to open or sync a directory: best effort there
                throw e;
            }
        }
    }
}
