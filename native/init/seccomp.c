/* seccomp.c: the plan's filter as a BPF program, compiled with libseccomp by the bootstrap (or
 * taken from the plan's `seccomp-cache` file) and loaded by the container process. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

/* A cache file is this header line then the raw program. The header names what shaped the
 * program besides the records (which name the file): a rebuilt berth-init with another
 * libseccomp, or another kernel, compiles anew instead of trusting an old file. */
static int cache_header(char *b, size_t n)
{
  const struct scmp_version *v = seccomp_version();
  struct utsname u;
  if (uname(&u) < 0)
    return -1;
  int r = snprintf(b, n, "berth-seccomp 1 libseccomp-%u.%u.%u %s\n", v->major, v->minor, v->micro, u.release);
  return r > 0 && (size_t)r < n ? r : -1;
}

static unsigned load_flags(const struct plan *p)
{
  unsigned f = 0;
  for (int i = 0; i < p->nsc_flags; i++) {
    const char *s = p->sc_flags[i];
    f |= !strcmp(s, "SECCOMP_FILTER_FLAG_LOG")          ? SECCOMP_FILTER_FLAG_LOG
         : !strcmp(s, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") ? SECCOMP_FILTER_FLAG_SPEC_ALLOW
                                                        : SECCOMP_FILTER_FLAG_TSYNC;
  }
  return f;
}

static int take_program(struct ctx *c, const char *b, size_t n)
{
  if (n == 0 || n % sizeof(struct sock_filter) || n / sizeof(struct sock_filter) > BPF_MAXINSNS)
    return -1;
  c->sc_prog = malloc(n);
  if (!c->sc_prog)
    return -1;
  memcpy(c->sc_prog, b, n);
  c->sc_len = (unsigned short)(n / sizeof(struct sock_filter));
  return 0;
}

/* A hit: the file exists, its header is ours, the rest is a whole program. Anything else is a miss. */
static int cache_read(const char *path, const char *head, size_t hlen, struct ctx *c)
{
  char b[512 + BPF_MAXINSNS * sizeof(struct sock_filter)];
  struct stat st;
  int rc = -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return -1;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= sizeof b) {
    size_t n = 0;
    ssize_t r;
    while (n < sizeof b && ((r = read(fd, b + n, sizeof b - n)) > 0 || (r < 0 && errno == EINTR)))
      if (r > 0)
        n += (size_t)r;
    if (n > hlen && !memcmp(b, head, hlen))
      rc = take_program(c, b + hlen, n - hlen);
  }
  close(fd);
  return rc;
}

/* Best effort: a temp file renamed into place, so a reader never sees half a program. */
static void cache_write(const char *path, const char *head, size_t hlen, const struct ctx *c)
{
  char tmp[4200];
  if (snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof tmp)
    return;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return;
  size_t n = (size_t)c->sc_len * sizeof(struct sock_filter);
  int ok = write(fd, head, hlen) == (ssize_t)hlen && write(fd, c->sc_prog, n) == (ssize_t)n;
  if (close(fd) < 0)
    ok = 0;
  if (!ok || rename(tmp, path) < 0)
    unlink(tmp);
}

static int compile(const struct plan *p, struct ctx *c, struct berr *e)
{
  int r;
  scmp_filter_ctx sc = seccomp_init(p->sc_default);
  if (!sc)
    return fail_msg(e, "seccomp", NULL, ENOMEM, "seccomp: cannot create the filter");
  /* Only the program is taken from libseccomp; the plan decides no_new_privs itself. */
  if ((r = seccomp_attr_set(sc, SCMP_FLTATR_CTL_NNP, 0)) < 0)
    goto fail;
  for (int i = 0; i < p->nsc_arches; i++) {
    r = seccomp_arch_add(sc, seccomp_arch_resolve_name(p->sc_arches[i]));
    if (r < 0 && r != -EEXIST)
      goto fail;
  }
  /* The flags go to seccomp(2) at load; setting them here keeps libseccomp's checks (a kernel
   * without SECCOMP_FILTER_FLAG_LOG is refused here, as before). */
  for (int i = 0; i < p->nsc_flags; i++) {
    const char *f = p->sc_flags[i];
    enum scmp_filter_attr a = !strcmp(f, "SECCOMP_FILTER_FLAG_LOG")        ? SCMP_FLTATR_CTL_LOG
                              : !strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") ? SCMP_FLTATR_CTL_SSB
                                                                             : SCMP_FLTATR_CTL_TSYNC;
    if ((r = seccomp_attr_set(sc, a, 1)) < 0)
      goto fail;
  }
  for (int i = 0; i < p->nsc_rules; i++) {
    const struct sc_rule *rule = &p->sc_rules[i];
    struct scmp_arg_cmp cmp[6];
    int nr = seccomp_syscall_resolve_name(rule->syscall);
    /* As runc: a syscall this libseccomp does not know cannot be filtered; skip it. */
    if (nr == __NR_SCMP_ERROR || rule->action == p->sc_default)
      continue;
    for (int j = 0; j < rule->ncond; j++)
      cmp[j] = (struct scmp_arg_cmp){ rule->cond[j].arg, (enum scmp_compare)rule->cond[j].op, rule->cond[j].a,
                                      rule->cond[j].b };
    r = seccomp_rule_add_array(sc, rule->action, nr, (unsigned)rule->ncond, cmp);
    if (r < 0) {
      seccomp_release(sc);
      return fail_msg(e, "seccomp", rule->syscall, -r, "seccomp rule `%s`: %s", rule->syscall, strerror(-r));
    }
  }
  /* libseccomp 2.5 exports only to an fd; a memfd keeps it off any filesystem. */
  int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
  if (fd < 0) {
    seccomp_release(sc);
    return fail_sys(e, "seccomp", "memfd");
  }
  r = seccomp_export_bpf(sc, fd);
  seccomp_release(sc);
  if (r < 0) {
    close(fd);
    return fail_msg(e, "seccomp", NULL, -r, "seccomp: %s", strerror(-r));
  }
  static char prog[BPF_MAXINSNS * sizeof(struct sock_filter) + 1];
  ssize_t n = pread(fd, prog, sizeof prog, 0);
  close(fd);
  if (n < 0 || take_program(c, prog, (size_t)n) < 0)
    return fail_msg(e, "seccomp", NULL, E2BIG, "seccomp: the filter does not fit one BPF program (%zd bytes)", n);
  return 0;
fail:
  seccomp_release(sc);
  return fail_msg(e, "seccomp", NULL, -r, "seccomp: %s", strerror(-r));
}

int seccomp_prepare(struct ctx *c, struct berr *e)
{
  const struct plan *p = c->plan;
  char head[512];
  int hlen;
  if (!p->has_seccomp)
    return 0;
  c->sc_flags = load_flags(p);
  hlen = p->sc_cache ? cache_header(head, sizeof head) : -1;
  if (hlen > 0 && cache_read(p->sc_cache, head, (size_t)hlen, c) == 0)
    return 0;
  if (compile(p, c, e))
    return -1;
  if (hlen > 0)
    cache_write(p->sc_cache, head, (size_t)hlen, c);
  return 0;
}

int seccomp_load_plan(const struct ctx *c, struct berr *e)
{
  struct sock_fprog prog = { .len = c->sc_len, .filter = c->sc_prog };
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, c->sc_flags, &prog) < 0)
    return fail_msg(e, "seccomp", NULL, errno, "seccomp: %s", strerror(errno));
  return 0;
}
