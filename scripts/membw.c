/*
 * The host's memory read bandwidth as a C program sees it, to set FlexiServe's Java figures against
 * (BENCHMARKS.md, "Weight formats"): two threads sum 1 GiB with AVX-512 loads, each its half as one sequential
 * stream, then as two (the two halves of its half side by side, as the Java kernels walk two panels), four
 * rounds. Needs gcc and a CPU with AVX-512; nothing here is part of the service:
 *
 *   gcc -O2 -mavx512f -pthread scripts/membw.c -o /tmp/membw && /tmp/membw
 *
 * `/tmp/membw --huge` asks for the 1 GiB in 2 MB pages (madvise MADV_HUGEPAGE); `/tmp/membw FILE` reads FILE mapped
 * read-only instead, as FlexiServe maps its packed-weight cache, and prints how much of the mapping lay in 2 MB pages
 * (docs/djl-traps.md, traps 18 and 19).
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define THREADS 2

static long bytes = 1L << 30;
static char *buffer;
static int streams;
static volatile float sink;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Bytes each thread reads: its share of the buffer, in whole 256-byte steps. */
static long share(void) {
    return bytes / THREADS / 256 * 256;
}

static void *sum(void *arg) {
    long part = share();
    const char *p = buffer + (long) arg * part;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    if (streams == 1) {
        for (long i = 0; i < part; i += 128) {
            s0 = _mm512_add_ps(s0, _mm512_loadu_ps(p + i));
            s1 = _mm512_add_ps(s1, _mm512_loadu_ps(p + i + 64));
        }
    } else {
        const char *q = p + part / 2;
        for (long i = 0; i < part / 2; i += 64) {
            s0 = _mm512_add_ps(s0, _mm512_loadu_ps(p + i));
            s1 = _mm512_add_ps(s1, _mm512_loadu_ps(q + i));
        }
    }
    sink += _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    return NULL;
}

/* The 2 MB-page part of this process's file mappings, from /proc/self/smaps_rollup. */
static void print_pmd_mapped(void) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        long kb;
        if (sscanf(line, "FilePmdMapped: %ld kB", &kb) == 1) {
            printf("in 2 MB pages: %ld of %ld kB\n", kb, bytes / 1024);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
}

int main(int argc, char **argv) {
    int mapped = argc > 1 && strcmp(argv[1], "--huge") != 0;
    if (mapped) {
        int fd = open(argv[1], O_RDONLY);
        if (fd < 0) {
            perror(argv[1]);
            return 1;
        }
        bytes = lseek(fd, 0, SEEK_END);
        buffer = mmap(NULL, bytes, PROT_READ, MAP_SHARED, fd, 0);
        if (buffer == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        close(fd);
    } else {
        buffer = aligned_alloc(1L << 21, bytes);
        if (argc > 1) {
            madvise(buffer, bytes, MADV_HUGEPAGE);
        }
        memset(buffer, 0, bytes);
    }
    for (int round = 0; round < 4; round++) {
        for (streams = 1; streams <= 2; streams++) {
            double start = now();
            for (int rep = 0; rep < 3; rep++) {
                pthread_t threads[THREADS];
                for (long t = 0; t < THREADS; t++) {
                    pthread_create(&threads[t], NULL, sum, (void *) t);
                }
                for (int t = 0; t < THREADS; t++) {
                    pthread_join(threads[t], NULL);
                }
            }
            printf("round %d, %d stream%s per thread: %.1f GB/s\n", round, streams, streams == 1 ? "" : "s",
                   3.0 * share() * THREADS / (now() - start) / 1e9);
        }
    }
    if (mapped) {
        print_pmd_mapped();
        munmap(buffer, bytes);
    } else {
        free(buffer);
    }
    return 0;
}
