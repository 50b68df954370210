/*
 * paths.c: a (dirfd, path) made absolute and normal, with the working folder cached so that no
 * system call is made for it; and the paths that are never recorded. The paths are those of this
 * process (the interposer), or of the tracee the supervisor is looking at (paths_follow).
 */
#include <string.h>
#include <sys/stat.h>
#include "interposer.h"

static char g_cwd[PM_PATH_MAX];
static size_t g_cwd_len;
static char g_proc[32] = "/proc/self";   /* the process's /proc folder */
static size_t g_proc_len = 10;
static int g_self = 1;
static int g_cwd_known;   /* asked for the first time when a relative path needs it */

void refresh_cwd(void) {
  long n;
  if (g_self) {
    n = pm_sys(SYS_getcwd, g_cwd, sizeof g_cwd);
    if (n > 0) n = (long)strlen(g_cwd);
  } else {
    char link[48];
    memcpy(link, g_proc, g_proc_len);
    memcpy(link + g_proc_len, "/cwd", 5);
    n = pm_sys(SYS_readlinkat, AT_FDCWD, link, g_cwd, sizeof g_cwd - 1);
  }
  g_cwd_len = (n > 0 && g_cwd[0] == '/') ? (size_t)n : 0;
  g_cwd[g_cwd_len] = 0;
  g_cwd_known = 1;
}

void paths_follow(int pid) {
  memcpy(g_proc, "/proc/", 6);
  g_proc_len = (size_t)(pm_fmt_u64(g_proc + 6, (uint64_t)pid) - g_proc);
  g_proc[g_proc_len] = 0;
  g_self = 0;
  g_cwd_known = 0;
}

static int under(const char *p, const char *dir, size_t len) {
  return !strncmp(p, dir, len) && (p[len] == '/' || !p[len]);
}

int is_ignored(const char *p) {
  if (p[0] != '/') return 1;
  return under(p, "/proc", 5) || under(p, "/sys", 4) || under(p, "/dev", 4) || under(p, g_log_dir, g_log_dir_len);
}

/* Lexically normalise an absolute path in place: no "//", ".", ".." or trailing "/". */
static void normalize(char *path) {
  char *out = path;              /* write position; path[0] == '/' */
  const char *in = path;
  while (*in) {
    while (*in == '/') in++;
    if (!*in) break;
    const char *seg = in;
    while (*in && *in != '/') in++;
    size_t len = (size_t)(in - seg);
    if (len == 1 && seg[0] == '.') continue;
    if (len == 2 && seg[0] == '.' && seg[1] == '.') {
      while (out > path && *--out != '/') {}
      continue;
    }
    *out++ = '/';
    memmove(out, seg, len);
    out += len;
  }
  if (out == path) *out++ = '/';
  *out = 0;
}

/* <process>/fd/<fd>: the link to the file behind a descriptor */
static void fd_link(int fd, char *link) {
  memcpy(link, g_proc, g_proc_len);
  memcpy(link + g_proc_len, "/fd/", 4);
  pm_fmt_u64(link + g_proc_len + 4, (uint64_t)fd)[0] = 0;
}

int fd_path(int fd, char *out) {
  char link[64];
  fd_link(fd, link);
  long n = pm_sys(SYS_readlinkat, AT_FDCWD, link, out, PM_PATH_MAX - 1);
  if (n <= 0 || out[0] != '/') return -1;
  out[n] = 0;
  /* an unlinked file (or an O_TMPFILE one) has no name to depend on */
  if (n > 10 && !memcmp(out + n - 10, " (deleted)", 10)) return -1;
  return 0;
}

int fd_is_empty(int fd) {
  struct stat st;
  char link[64];
  fd_link(fd, link);
  return pm_sys(SYS_newfstatat, AT_FDCWD, link, &st, 0) == 0 && st.st_size == 0;
}

int resolve_at(int dirfd, const char *path, char *out) {
  path = opaque(path);
  if (!path) return -1;
  size_t len = strlen(path);
  if (path[0] == '/') {
    if (len >= PM_PATH_MAX) return -1;
    memcpy(out, path, len + 1);
  } else {
    size_t base_len;
    if (dirfd == AT_FDCWD) {
      if (!g_cwd_known) refresh_cwd();
      if (!g_cwd_len) return -1;
      memcpy(out, g_cwd, g_cwd_len);
      base_len = g_cwd_len;
    } else {
      if (fd_path(dirfd, out) != 0) return -1;
      base_len = strlen(out);
    }
    if (len == 0) { normalize(out); return 0; }   /* AT_EMPTY_PATH: the fd itself */
    if (base_len + 1 + len >= PM_PATH_MAX) return -1;
    out[base_len] = '/';
    memcpy(out + base_len + 1, path, len + 1);
  }
  normalize(out);
  return 0;
}
