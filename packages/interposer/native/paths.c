/*
 * paths.c: a (dirfd, path) made absolute and normal as the kernel resolves it, with the working
 * folder cached so that no system call is made for it; and the paths that are never recorded.
 *
 * Most paths are normalised by text alone. Two kinds are not what their text says, and only they
 * pay a system call: `..` after a name that may be a symlink (`link/../x` with link -> d/sub is
 * d/x, not ./x), and the magic links of /proc (/proc/self/cwd/x, /dev/fd/3/x). Symlinks followed
 * there are recorded as read: the result depends on them.
 *
 * The paths are those of this process (the interposer), or of the tracee the supervisor is looking
 * at (paths_follow): its working folder, its descriptors, its /proc/self.
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
  /* the second letter first: most paths are compared with nothing */
  if ((p[1] == 'p' && under(p, "/proc", 5)) || (p[1] == 's' && under(p, "/sys", 4)) || (p[1] == 'd' && under(p, "/dev", 4))) return 1;
  return p[1] == g_log_dir[1] && under(p, g_log_dir, g_log_dir_len);
}

/* The next name of a path at *p (NULL at the end), its length in *len; "." names are skipped. */
static const char *next_name(const char **p, size_t *len) {
  for (;;) {
    while (**p == '/') (*p)++;
    if (!**p) return NULL;
    const char *name = *p;
    while (**p && **p != '/') (*p)++;
    *len = (size_t)(*p - name);
    if (!(*len == 1 && name[0] == '.')) return name;
  }
}

static int is_dotdot(const char *name, size_t len) { return len == 2 && name[0] == '.' && name[1] == '.'; }

/* Lexically normalise an absolute path in place: no "//", ".", ".." or trailing "/". */
static void normalize(char *path) {
  char *out = path;              /* write position; path[0] == '/' */
  const char *in = path, *seg;
  size_t len;
  while ((seg = next_name(&in, &len))) {
    if (is_dotdot(seg, len)) {
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

/* An absolute path already normal (the common case, in one read): no "//", "." or ".." name,
 * no trailing "/". */
static int is_normal(const char *path) {
  if (!path[1]) return 1;   /* "/" */
  const char *p = path + 1;
  for (; *p; p++) {
    if (p[-1] != '/') continue;
    if (*p == '/' || (*p == '.' && (!p[1] || p[1] == '/' || (p[1] == '.' && (!p[2] || p[2] == '/'))))) return 0;
  }
  return p[-1] != '/';
}

/* <process>/fd/<fd>: the link to the file behind a descriptor */
static void fd_link(int fd, char *link) {
  memcpy(link, g_proc, g_proc_len);
  memcpy(link + g_proc_len, "/fd/", 4);
  pm_fmt_u64(link + g_proc_len + 4, (uint64_t)fd)[0] = 0;
}

/* What the kernel shows for the path of an unlinked file. */
static int is_deleted(const char *path, size_t n) { return n > 10 && !memcmp(path + n - 10, " (deleted)", 10); }

static int has_dotdot(const char *p) {
  for (p = strstr(p, "/.."); p; p = strstr(p + 1, "/.."))
    if (p[3] == '/' || !p[3]) return 1;
  return 0;
}

/* Names found not to be symlinks, by hash: `..` after them needs no readlink again. */
static uint64_t g_not_links[256];

uint64_t name_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) { h ^= (unsigned char)*s; h *= 1099511628211ull; }
  return h | 1;
}

/* The target of path if it is a symlink (recorded as read), else -1 (remembered). */
static long symlink_target(const char *path, char *target) {
  uint64_t h = name_hash(path);
  uint64_t *slot = &g_not_links[h % (sizeof g_not_links / sizeof g_not_links[0])];
  if (*slot == h) return -1;
  long n = pm_sys(SYS_readlinkat, AT_FDCWD, path, target, PM_PATH_MAX - 1);
  if (n == -EINVAL) *slot = h;   /* there, and not a symlink (a missing name may appear) */
  if (n <= 0) return -1;
  target[n] = 0;
  if (!is_ignored(path)) write_record(PM_STAT, PM_ARG_NONE, path, NULL, 1);
  return n;
}

/*
 * The kernel's `..`: the parent of what the name before it leads to. path (absolute) is rewritten
 * in place; its first `verified` bytes are known to hold no symlink (a working folder or a
 * descriptor's path, from the kernel), so `..` within them is textual. -1: too long, skipped and
 * counted as a lost record (the trace is incomplete).
 */
static __attribute__((noinline)) int resolve_dotdot(char *path, size_t verified) {
  char in[PM_PATH_MAX], target[PM_PATH_MAX];
  strcpy(in, path);
  const char *p = in, *seg;
  size_t out = 0, len;   /* path[0..out) is resolved; "" stands for "/" */
  int links = 0;
  while ((seg = next_name(&p, &len))) {
    if (is_dotdot(seg, len)) {
      path[out] = 0;
      long n = out > verified && links < 40 ? symlink_target(path, target) : -1;
      if (n > 0) {
        /* the link's target takes its place, and the rest (from this "..") follows it */
        size_t rest = strlen(seg);
        if ((size_t)n + 1 + rest >= PM_PATH_MAX) { pm_log_lost(); return -1; }
        memmove(in + n + 1, seg, rest + 1);
        memcpy(in, target, (size_t)n);
        in[n] = '/';
        p = in;
        links++;
        if (target[0] == '/') out = 0;
        else while (out > 0 && path[--out] != '/') {}
        if (verified > out) verified = out;
        continue;
      }
      while (out > 0 && path[--out] != '/') {}
      if (verified > out) verified = out;
      continue;
    }
    if (out + 1 + len >= PM_PATH_MAX) { pm_log_lost(); return -1; }
    path[out++] = '/';
    memcpy(path + out, seg, len);
    out += len;
  }
  if (out == 0) path[out++] = '/';
  path[out] = 0;
  return 0;
}

/* Normalise an absolute path as the kernel resolves it (see the top of this file). */
static int resolve(char *path, size_t verified) {
  if (is_normal(path)) return 0;
  if (!has_dotdot(path)) { normalize(path); return 0; }
  return resolve_dotdot(path, verified);
}

/* The end of a magic link's name at the start of path (/proc/self/cwd, /proc/<pid>/root,
 * /proc/self/fd/<n>, /dev/fd/<n>), or NULL. */
static const char *magic_link_end(const char *path) {
  const char *p;
  if (!strncmp(path, "/dev/fd/", 8)) {
    p = path + 8;
  } else if (!strncmp(path, "/proc/", 6)) {
    p = path + 6;
    if (!strncmp(p, "self/", 5)) p += 5;
    else if (!strncmp(p, "thread-self/", 12)) p += 12;
    else { while (*p >= '0' && *p <= '9') p++; if (*p++ != '/') return NULL; }
    if (!strncmp(p, "cwd", 3) || !strncmp(p, "root", 4)) { p += p[0] == 'c' ? 3 : 4; return *p == '/' || !*p ? p : NULL; }
    if (strncmp(p, "fd/", 3)) return NULL;
    p += 3;
  } else {
    return NULL;
  }
  const char *digits = p;
  while (*p >= '0' && *p <= '9') p++;
  return p > digits && (*p == '/' || !*p) ? p : NULL;
}

/* The magic link path[0..len) as the process followed sees it: /proc/self, /proc/thread-self and
 * /dev/fd are its own (the supervisor's are not the tracee's). */
static void own_link(const char *path, size_t len, char *link) {
  const char *rest = NULL;
  if (!strncmp(path, "/dev/fd/", 8)) rest = path + 4;   /* "/fd/N" */
  else if (!strncmp(path, "/proc/self/", 11)) rest = path + 10;
  else if (!strncmp(path, "/proc/thread-self/", 18)) rest = path + 17;
  if (!rest) {
    memcpy(link, path, len);
    link[len] = 0;
    return;
  }
  memcpy(link, g_proc, g_proc_len);
  memcpy(link + g_proc_len, rest, len - (size_t)(rest - path));
  link[g_proc_len + len - (size_t)(rest - path)] = 0;
}

/* What the kernel opens for a path through a magic link: the link's target, then the rest. The
 * target is a path the kernel made (no symlink in it): returns its length, the verified part. */
static __attribute__((noinline)) size_t follow_magic_link(char *path) {
  const char *end = magic_link_end(path);
  if (!end) return 0;
  char link[96], target[PM_PATH_MAX];
  size_t len = (size_t)(end - path);
  if (len >= sizeof link - sizeof g_proc) return 0;
  own_link(path, len, link);
  long n = pm_sys(SYS_readlinkat, AT_FDCWD, link, target, PM_PATH_MAX - 1);
  size_t rest = strlen(end);
  /* a pipe or a socket has no path; an unlinked (or O_TMPFILE) file no name to depend on */
  if (n <= 0 || target[0] != '/' || (size_t)n + rest >= PM_PATH_MAX || is_deleted(target, (size_t)n)) return 0;
  memmove(path + n, end, rest + 1);
  memcpy(path, target, (size_t)n);
  return (size_t)n;
}

int fd_path(int fd, char *out) {
  char link[64];
  fd_link(fd, link);
  long n = pm_sys(SYS_readlinkat, AT_FDCWD, link, out, PM_PATH_MAX - 1);
  if (n <= 0 || out[0] != '/') return -1;
  out[n] = 0;
  /* an unlinked file (or an O_TMPFILE one) has no name to depend on */
  return is_deleted(out, (size_t)n) ? -1 : 0;
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
  size_t len = strlen(path), verified;
  if (path[0] == '/') {
    if (len >= PM_PATH_MAX) return -1;
    memcpy(out, path, len + 1);
    verified = (out[1] == 'p' || out[1] == 'd') ? follow_magic_link(out) : 0;
  } else {
    if (dirfd == AT_FDCWD) {
      if (!g_cwd_known) refresh_cwd();
      if (!g_cwd_len) { pm_log_lost(); return -1; }   /* too deep for getcwd, or removed: not representable */
      memcpy(out, g_cwd, g_cwd_len);
      verified = g_cwd_len;
    } else {
      if (fd_path(dirfd, out) != 0) return -1;
      verified = strlen(out);
    }
    if (len == 0) return resolve(out, verified);   /* AT_EMPTY_PATH: the fd itself */
    if (verified + 1 + len >= PM_PATH_MAX) { pm_log_lost(); return -1; }   /* a name we cannot hold: say so */
    out[verified] = '/';
    memcpy(out + verified + 1, path, len + 1);
  }
  return resolve(out, verified);
}
