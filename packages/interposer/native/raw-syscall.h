/*
 * raw-syscall.h: system calls without libc. The interposer wraps glibc's syscall(), so its own
 * calls must not go through it (they would be recorded, or recurse); they also leave errno alone,
 * which keeps the traced program's errno intact. A call returns the result, or -errno.
 *
 *   long fd = pm_sys(SYS_openat, AT_FDCWD, path, O_RDONLY, 0);
 *   if (pm_failed(fd)) ...
 */
#ifndef PM_RAW_SYSCALL_H
#define PM_RAW_SYSCALL_H

#include <sys/syscall.h>

static inline long pm_syscall6(long n, long a, long b, long c, long d, long e, long f) {
#if defined(__x86_64__)
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  return x0;
#else
#error "prov-make's interposer makes raw system calls on x86-64 and aarch64 only"
#endif
}

/* pm_sys(NR, args...): up to six arguments, the rest zero. */
#define PM_SYS6(n, a, b, c, d, e, f, ...) \
  pm_syscall6((long)(n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define pm_sys(...) PM_SYS6(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)

/* True for a result that is an error (-4095..-1). */
static inline int pm_failed(long r) { return (unsigned long)r > -4096UL; }

#endif
