/* openloop.c - the open()/close() micro-benchmark behind bench/open-close.mjs.
 *
 *   openloop create DIR N              create N empty files DIR/f000000 ... (setup, not timed)
 *   openloop loop DIR N [RESULT_FILE]  open(O_RDONLY) + close() each of the N files once
 *
 * The loop phase is timed inside the program with clock_gettime(CLOCK_MONOTONIC), so process
 * start-up and exit (and, when traced, the interposer's set-up and the log reduction) are excluded
 * from loop_ns; loop_cpu_ns is the CPU time the process spent in it (CLOCK_PROCESS_CPUTIME_ID),
 * which other programs on a loaded machine disturb far less. The result line goes to RESULT_FILE
 * when given (the benchmark reads it from there, which works the same traced and untraced), else
 * to stdout:
 *
 *   loop_ns=123456789 loop_cpu_ns=120000000 files=100000 ns_per_file=1234.6
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int usage(void)
{
    fprintf(stderr, "usage: openloop create DIR N | openloop loop DIR N [RESULT_FILE]\n");
    return 2;
}

static int create_files(const char *dir, long n)
{
    char path[4096];
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/f%06ld", dir, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            fprintf(stderr, "openloop: create %s: %s\n", path, strerror(errno));
            return 1;
        }
        close(fd);
    }
    return 0;
}

static int open_loop(const char *dir, long n, const char *result_file)
{
    /* Paths are formatted before the timed loop so the loop is open+close only. */
    size_t dlen = strlen(dir);
    size_t stride = dlen + 9; /* "/f" + 6 digits + NUL */
    char *paths = malloc(stride * (size_t)n);
    if (!paths) {
        fprintf(stderr, "openloop: out of memory\n");
        return 1;
    }
    for (long i = 0; i < n; i++)
        snprintf(paths + stride * (size_t)i, stride, "%s/f%06ld", dir, i);

    long failures = 0;
    long long start = now_ns(CLOCK_MONOTONIC), start_cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    for (long i = 0; i < n; i++) {
        int fd = open(paths + stride * (size_t)i, O_RDONLY);
        if (fd < 0) {
            failures++;
            continue;
        }
        close(fd);
    }
    long long elapsed = now_ns(CLOCK_MONOTONIC) - start, cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID) - start_cpu;
    free(paths);

    if (failures) {
        fprintf(stderr, "openloop: %ld of %ld opens failed (run `openloop create` first)\n", failures, n);
        return 1;
    }
    FILE *out = stdout;
    if (result_file && !(out = fopen(result_file, "w"))) {
        fprintf(stderr, "openloop: %s: %s\n", result_file, strerror(errno));
        return 1;
    }
    fprintf(out, "loop_ns=%lld loop_cpu_ns=%lld files=%ld ns_per_file=%.1f\n", elapsed, cpu, n, (double)elapsed / (double)n);
    if (out != stdout)
        fclose(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return usage();
    char *end;
    long n = strtol(argv[3], &end, 10);
    if (*end || n <= 0 || n > 999999)
        return usage();
    if (strcmp(argv[1], "create") == 0 && argc == 4)
        return create_files(argv[2], n);
    if (strcmp(argv[1], "loop") == 0 && (argc == 4 || argc == 5))
        return open_loop(argv[2], n, argc == 5 ? argv[4] : NULL);
    return usage();
}
