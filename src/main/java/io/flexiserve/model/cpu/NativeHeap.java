package io.flexiserve.model.cpu;

import java.lang.management.ManagementFactory;
import javax.management.JMException;
import javax.management.ObjectName;
import org.jboss.logging.Logger;

/**
 * Gives the C allocator's free memory back to the OS. Loading a checkpoint frees many temporaries (each weight
 * converted to f16 before it is packed, chunks of f32); glibc keeps most of what is freed below its mapping threshold
 * in its arenas, resident: 0.67 GB of a first {@code q4} start's 7.0 GB at the release's shape (docs/djl-traps.md,
 * trap 17). The JVM's {@code System.trim_native_heap} command (glibc's {@code malloc_trim}) returns it.
 */
public final class NativeHeap {

    private static final Logger LOG = Logger.getLogger(NativeHeap.class);

    private NativeHeap() {
    }

    /** {@link #trim}, logging the report after {@code what}. */
    public static void trimAndLog(String what) {
        String report = trim();
        if (report != null) {
            LOG.infof("%s; native heap trimmed: %s", what, report);
        }
    }

    /**
     * Trims the C heap, returning the JVM's report ("RSS+Swap: 6828M->6155M (-672M)"), or null where the JVM or the
     * C library cannot (not glibc, or a JVM without the command): nothing is lost then but the memory.
     */
    public static String trim() {
        try {
            Object report = ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "systemTrimNativeHeap",
                    new Object[] {null}, new String[] {String[].class.getName()});
            String line = String.valueOf(report).strip();
            if (!line.contains("RSS")) { // "Not available" (a C library without malloc_trim)
                LOG.debugf("native heap not trimmed: %s", line);
                return null;
            }
            return line.substring(line.indexOf("RSS"));
        } catch (JMException | RuntimeException e) {
            LOG.debugf("native heap not trimmed: %s", e.toString());
            return null;
        }
    }
}
