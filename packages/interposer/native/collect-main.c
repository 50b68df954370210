/*
 * pm-collect: reads a step's trace log into a summary (collect.h).
 *
 *   pm-collect [--follow] --repeatable KINDS LOG SUMMARY
 *
 * LOG is the step's trace.log, SUMMARY the file to write. KINDS are the record kinds whose repeats
 * the reducer has no use for (src/reduce.ts says which). With --follow it reads the log as it grows
 * until its standard input ends (the launcher closes it when the step has ended), then reads what
 * is left. Exits 0 with the summary written; otherwise the launcher reads the log itself.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
#include "collect.h"

#define IDLE_MS_MAX 32   /* longest pause while following a log that does not grow */

/* A log truncated under the mapping: the launcher reads it itself. */
static void on_bus_error(int sig) {
  (void)sig;
  _exit(4);
}

/* True once standard input has ended, waiting up to `ms` for it. */
static int step_ended(int ms) {
  struct pollfd p = { .fd = 0, .events = POLLIN };
  int n = poll(&p, 1, ms);
  if (n < 0) return errno != EINTR;
  if (n == 0) return 0;
  char buf[64];
  return read(0, buf, sizeof buf) <= 0;
}

static void follow(struct pm_follower *f, struct pm_paths *paths, struct pm_events *events) {
  int idle = 1;
  for (;;) {
    size_t got = follower_scan(f, paths, events);
    idle = got ? 1 : idle * 2 > IDLE_MS_MAX ? IDLE_MS_MAX : idle * 2;
    if (step_ended(idle)) return;
  }
}

int main(int argc, char **argv) {
  int following = 0;
  const char *repeatable = NULL;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "--follow")) following = 1;
    else if (!strcmp(argv[i], "--repeatable") && i + 1 < argc) repeatable = argv[++i];
    else break;
  }
  if (!repeatable || argc - i != 2) {
    fputs("usage: pm-collect [--follow] --repeatable KINDS LOG SUMMARY\n", stderr);
    return 2;
  }
  signal(SIGBUS, on_bus_error);
  struct pm_follower f;
  if (follower_open(&f, argv[i]) != 0) {
    fprintf(stderr, "pm-collect: %s: %s\n", argv[i], errno == EINVAL ? "not a trace log" : strerror(errno));
    return 1;
  }
  static struct pm_paths paths;
  static struct pm_events events;
  static struct pm_disk disk;
  if (following) follow(&f, &paths, &events);
  follower_scan(&f, &paths, &events);
  events_finish(&events, paths.count, repeatable);
  disk_look(&disk, &paths, &events);
  uint32_t *rank = paths_sort(&paths);
  if (rank) {
    events_renumber(&events, rank);
    disk_renumber(&disk, rank);
    free(rank);
  }
  if (summary_write(argv[i + 1], &f, &paths, &events, &disk) != 0) {
    fprintf(stderr, "pm-collect: %s: %s\n", argv[i + 1], strerror(errno));
    return 1;
  }
  return 0;
}
