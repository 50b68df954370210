/*
 * thread-log.c: the interposer's log writers, one per thread (log.h), and where write_record()'s
 * records go in the interposer (the supervisor writes them per tracee: supervisor-calls.c).
 */
#include <pthread.h>
#include "interposer.h"

static __thread struct pm_log_writer t_writer __attribute__((tls_model("initial-exec")));
static pthread_key_t g_exit_key;   /* its destructor gives back an exiting thread's window */
static int g_exit_key_ok;

static void thread_exit(void *unused) {
  (void)unused;
  pm_log_finish(&t_writer);
}

void log_watch_thread_exits(void) {
  /* keys past the first block (32) make pthread_setspecific allocate: then do without */
  if (pthread_key_create(&g_exit_key, thread_exit) == 0) {
    if (g_exit_key < 32) g_exit_key_ok = 1;
    else pthread_key_delete(g_exit_key);
  }
}

void log_finish_thread(void) { pm_log_finish(&t_writer); }
void log_forget_thread(void) { pm_log_forget(&t_writer); }

void log_record(char kind, const char *arg, const char *path, const char *path2) {
  int had_window = t_writer.window != NULL;
  pm_log_write(&t_writer, kind, arg, path, path2);
  /* a thread that starts a window is given back its window when it ends (a program that starts and
   * ends threads by the thousand would otherwise run out of mappings, vm.max_map_count) */
  if (!had_window && t_writer.window && g_exit_key_ok) pthread_setspecific(g_exit_key, (void *)1);
}

