/* plan.c: reads the text plan of docs/plan.md into struct plan; policy-free, numbers only. */
#include "init.h"
#include "../common/pct-decode.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TOKENS 4096

int plan_read_file(const char *path, char **buf, size_t *len, struct berr *e)
{
  size_t cap = 65536, n = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail_sys(e, "plan", path);
  char *b = malloc(cap + 1);
  for (;;) {
    if (n == cap)
      b = realloc(b, (cap *= 2) + 1);
    ssize_t r = read(fd, b + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      close(fd);
      free(b);
      return fail_sys(e, "plan", path);
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  b[n] = 0;
  *buf = b;
  *len = n;
  return 0;
}


#define GROW(arr, n) ((arr) = realloc((arr), sizeof *(arr) * (size_t)((n) + 1)), &(arr)[(n)++])

static int num_ll(const char *s, long long *v)
{
  char *end;
  errno = 0;
  *v = strtoll(s, &end, 10);
  return (errno || end == s || *end) ? -1 : 0;
}

static int num_ull(const char *s, int base, unsigned long long *v)
{
  char *end;
  if (*s == '-')
    return -1;
  errno = 0;
  *v = strtoull(s, &end, base);
  return (errno || end == s || *end) ? -1 : 0;
}

static int hexmask(const char *s, unsigned long long *v)
{
  if (strncmp(s, "0x", 2) && strncmp(s, "0X", 2))
    return -1;
  return num_ull(s + 2, 16, v);
}

static int ns_type(const char *s)
{
  static const struct { const char *n; int f; } t[] = {
    { "user", CLONE_NEWUSER }, { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "net", CLONE_NEWNET },
    { "pid", CLONE_NEWPID }, { "mnt", CLONE_NEWNS }, { "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (!strcmp(s, t[i].n))
      return t[i].f;
  return 0;
}

static int sc_action(const char *name, const char *errno_s, uint32_t *out)
{
  long long v;
  if (num_ll(errno_s, &v) || v < 0 || v > 0xffff)
    return -1;
  if (!strcmp(name, "allow")) *out = SCMP_ACT_ALLOW;
  else if (!strcmp(name, "errno")) *out = SCMP_ACT_ERRNO((uint32_t)v);
  else if (!strcmp(name, "kill-thread")) *out = SCMP_ACT_KILL_THREAD;
  else if (!strcmp(name, "kill-process")) *out = SCMP_ACT_KILL_PROCESS;
  else if (!strcmp(name, "trap")) *out = SCMP_ACT_TRAP;
  else if (!strcmp(name, "trace")) *out = SCMP_ACT_TRACE((uint32_t)v);
  else if (!strcmp(name, "log")) *out = SCMP_ACT_LOG;
  else return -1;
  return 0;
}

static int sc_op(const char *s)
{
  static const struct { const char *n; int op; } t[] = {
    { "ne", SCMP_CMP_NE }, { "lt", SCMP_CMP_LT }, { "le", SCMP_CMP_LE }, { "eq", SCMP_CMP_EQ },
    { "ge", SCMP_CMP_GE }, { "gt", SCMP_CMP_GT }, { "masked-eq", SCMP_CMP_MASKED_EQ },
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (!strcmp(s, t[i].n))
      return t[i].op;
  return -1;
}

static const struct { const char *name; enum action_op op; int min, max; } actions[] = {
  { "propagation", A_PROPAGATION, 2, 2 }, { "bind-root", A_BIND_ROOT, 0, 0 }, { "mount", A_MOUNT, 6, 6 },
  { "remount", A_REMOUNT, 2, 2 }, { "mount-propagation", A_MOUNT_PROPAGATION, 2, 2 }, { "mkdir", A_MKDIR, 2, 2 },
  { "symlink", A_SYMLINK, 2, 2 }, { "mknod", A_MKNOD, 7, 7 }, { "bind-dev", A_BIND_DEV, 2, 2 },
  { "pivot", A_PIVOT, 0, 0 }, { "mask", A_MASK, 1, 1 }, { "readonly", A_READONLY, 1, 1 },
  { "sysctl", A_SYSCTL, 2, 2 }, { "hook", A_HOOK, 1, 1 }, { "root-readonly", A_ROOT_READONLY, 0, 0 },
};

/* Checks an action's numeric arguments up front, so a bad plan fails before anything is done. */
static int check_action(enum action_op op, char **a)
{
  unsigned long long v;
  long long l;
  switch (op) {
  case A_PROPAGATION: case A_REMOUNT: case A_MOUNT_PROPAGATION:
    return hexmask(a[1], &v);
  case A_MOUNT:
    if (hexmask(a[3], &v)) return -1;
    return strcmp(a[5], "dir") && strcmp(a[5], "file") ? -1 : 0;
  case A_MKDIR: /* modes are decimal numbers, like every number but `umask` */
    return num_ull(a[1], 10, &v) || v > 07777 ? -1 : 0;
  case A_MKNOD:
    if (strcmp(a[1], "c") && strcmp(a[1], "b") && strcmp(a[1], "p")) return -1;
    if (num_ull(a[2], 10, &v) || num_ull(a[3], 10, &v) || num_ull(a[4], 10, &v) || v > 07777) return -1;
    return num_ll(a[5], &l) || num_ll(a[6], &l) ? -1 : 0;
  default:
    return 0;
  }
}

static int bad(struct berr *e, int line, const char *why)
{
  return fail_msg(e, "plan", NULL, EINVAL, "plan line %d: %s", line, why);
}

static int parse_line(struct plan *p, char **t, int n, int ln, struct berr *e)
{
  const char *op = t[0];
  int argc = n - 1;
  char **a = t + 1;
  unsigned long long u;
  long long l;

#define NARGS(k) do { if (argc != (k)) return bad(e, ln, "wrong number of arguments"); } while (0)
  if (!strcmp(op, "clone")) {
    NARGS(1);
    if (hexmask(a[0], &u)) return bad(e, ln, "clone: flags must be hex");
    p->clone_flags = u;
  } else if (!strcmp(op, "setns")) {
    NARGS(2);
    int ty = ns_type(a[0]);
    if (!ty) return bad(e, ln, "setns: unknown namespace type");
    struct nsjoin *j = GROW(p->setns, p->nsetns);
    j->type = ty;
    j->path = a[1];
  } else if (!strcmp(op, "cgroup-join")) {
    NARGS(1);
    *GROW(p->cgroup_join, p->ncgroup_join) = a[0];
  } else if (!strcmp(op, "uid-map") || !strcmp(op, "gid-map")) {
    NARGS(3);
    unsigned long long in, out, cnt;
    if (num_ull(a[0], 10, &in) || num_ull(a[1], 10, &out) || num_ull(a[2], 10, &cnt))
      return bad(e, ln, "id map: numbers expected");
    struct idmap *m = op[0] == 'u' ? GROW(p->uid_map, p->nuid_map) : GROW(p->gid_map, p->ngid_map);
    m->inside = in; m->outside = out; m->count = cnt;
  } else if (!strcmp(op, "setgroups")) {
    NARGS(1);
    if (strcmp(a[0], "deny")) return bad(e, ln, "setgroups: only `deny`");
    p->setgroups_deny = 1;
  } else if (!strcmp(op, "timens-offset")) {
    NARGS(3);
    if (strcmp(a[0], "monotonic") && strcmp(a[0], "boottime")) return bad(e, ln, "timens-offset: unknown clock");
    struct timens_off *o = GROW(p->timens, p->ntimens);
    o->clock = a[0];
    if (num_ll(a[1], &o->sec) || num_ll(a[2], &o->nsec)) return bad(e, ln, "timens-offset: numbers expected");
  } else if (!strcmp(op, "hostname")) {
    NARGS(1); p->hostname = a[0];
  } else if (!strcmp(op, "domainname")) {
    NARGS(1); p->domainname = a[0];
  } else if (!strcmp(op, "root")) {
    NARGS(1); p->root = a[0];
  } else if (!strcmp(op, "args")) {
    if (argc < 1) return bad(e, ln, "args: at least ARG0");
    p->args = a; p->nargs = argc; /* t is NULL-terminated by the tokenizer */
  } else if (!strcmp(op, "env")) {
    NARGS(1);
    *GROW(p->env, p->nenv) = a[0];
  } else if (!strcmp(op, "cwd")) {
    NARGS(1); p->cwd = a[0];
  } else if (!strcmp(op, "user")) {
    NARGS(2);
    unsigned long long uid, gid;
    if (num_ull(a[0], 10, &uid) || num_ull(a[1], 10, &gid) || uid > UINT32_MAX || gid > UINT32_MAX)
      return bad(e, ln, "user: numbers expected");
    p->has_user = 1; p->uid = (uid_t)uid; p->gid = (gid_t)gid;
  } else if (!strcmp(op, "groups")) {
    for (int i = 0; i < argc; i++) {
      if (num_ull(a[i], 10, &u) || u > UINT32_MAX) return bad(e, ln, "groups: numbers expected");
      *GROW(p->groups, p->ngroups) = (gid_t)u;
    }
  } else if (!strcmp(op, "umask")) {
    NARGS(1);
    if (num_ull(a[0], 8, &u) || u > 0777) return bad(e, ln, "umask: octal expected");
    p->has_umask = 1; p->umask = (mode_t)u;
  } else if (!strcmp(op, "caps")) {
    NARGS(2);
    static const char *sets[] = { "bounding", "effective", "permitted", "inheritable", "ambient" };
    int s = -1;
    for (int i = 0; i < 5; i++)
      if (!strcmp(a[0], sets[i])) s = i;
    if (s < 0) return bad(e, ln, "caps: unknown set");
    if (hexmask(a[1], &u)) return bad(e, ln, "caps: mask must be hex");
    p->caps[s] = u;
  } else if (!strcmp(op, "loopback-up")) {
    NARGS(0); p->loopback_up = 1;
  } else if (!strcmp(op, "no-new-privs")) {
    NARGS(0); p->no_new_privs = 1;
  } else if (!strcmp(op, "oom-score-adj")) {
    NARGS(1);
    if (num_ll(a[0], &l) || l < -1000 || l > 1000) return bad(e, ln, "oom-score-adj: -1000..1000");
    p->has_oom = 1; p->oom_score_adj = (int)l;
  } else if (!strcmp(op, "rlimit")) {
    NARGS(3);
    struct rlim *r = GROW(p->rlimits, p->nrlimits);
    if (num_ll(a[0], &l) || l < 0 || l > 64 || num_ll(a[1], &r->soft) || num_ll(a[2], &r->hard))
      return bad(e, ln, "rlimit: numbers expected");
    r->resource = (int)l;
  } else if (!strcmp(op, "preserve-fds")) {
    NARGS(1);
    if (num_ll(a[0], &l) || l < 0 || l > 65536) return bad(e, ln, "preserve-fds: count expected");
    p->preserve_fds = (int)l;
  } else if (!strcmp(op, "console-socket")) {
    NARGS(1); p->console_socket = a[0];
  } else if (!strcmp(op, "console-size")) {
    NARGS(2);
    unsigned long long r, c;
    if (num_ull(a[0], 10, &r) || num_ull(a[1], 10, &c) || r > 65535 || c > 65535)
      return bad(e, ln, "console-size: numbers expected");
    p->has_console_size = 1; p->rows = (unsigned short)r; p->cols = (unsigned short)c;
  } else if (!strcmp(op, "exec-fifo")) {
    NARGS(1); p->exec_fifo = a[0];
  } else if (!strcmp(op, "seccomp-default")) {
    NARGS(2);
    if (sc_action(a[0], a[1], &p->sc_default)) return bad(e, ln, "seccomp-default: unknown action");
    p->has_seccomp = 1;
  } else if (!strcmp(op, "seccomp-arch")) {
    NARGS(1);
    if (!seccomp_arch_resolve_name(a[0])) return bad(e, ln, "seccomp-arch: unknown architecture");
    *GROW(p->sc_arches, p->nsc_arches) = a[0];
  } else if (!strcmp(op, "seccomp-flag")) {
    NARGS(1);
    if (strcmp(a[0], "SECCOMP_FILTER_FLAG_LOG") && strcmp(a[0], "SECCOMP_FILTER_FLAG_SPEC_ALLOW") &&
        strcmp(a[0], "SECCOMP_FILTER_FLAG_TSYNC"))
      return bad(e, ln, "seccomp-flag: unknown flag");
    *GROW(p->sc_flags, p->nsc_flags) = a[0];
  } else if (!strcmp(op, "seccomp-cache")) {
    NARGS(1); p->sc_cache = a[0];
  } else if (!strcmp(op, "seccomp-rule")) {
    if (argc < 3 || (argc - 3) % 4 || (argc - 3) / 4 > 6) return bad(e, ln, "seccomp-rule: ACTION ERRNO SYSCALL [ARG OP V1 V2]...");
    struct sc_rule *r = GROW(p->sc_rules, p->nsc_rules);
    if (sc_action(a[0], a[1], &r->action)) return bad(e, ln, "seccomp-rule: unknown action");
    r->syscall = a[2];
    r->ncond = (argc - 3) / 4;
    for (int i = 0; i < r->ncond; i++) {
      char **c = a + 3 + 4 * i;
      unsigned long long idx;
      if (num_ull(c[0], 10, &idx) || idx > 5 || (r->cond[i].op = sc_op(c[1])) < 0 ||
          num_ull(c[2], 10, (unsigned long long *)&r->cond[i].a) || num_ull(c[3], 10, (unsigned long long *)&r->cond[i].b))
        return bad(e, ln, "seccomp-rule: bad condition");
      r->cond[i].arg = (unsigned)idx;
    }
  } else if (!strcmp(op, "no-pivot")) {
    NARGS(0); p->no_pivot = 1;
  } else {
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
      if (strcmp(op, actions[i].name))
        continue;
      if (argc < actions[i].min || argc > actions[i].max)
        return bad(e, ln, "wrong number of arguments");
      if (check_action(actions[i].op, a))
        return bad(e, ln, "bad argument");
      struct action *ac = GROW(p->actions, p->nactions);
      ac->op = actions[i].op;
      ac->name = actions[i].name;
      ac->argc = argc;
      ac->argv = a;
      return 0;
    }
    return fail_msg(e, "plan", NULL, EINVAL, "plan line %d: unknown op `%s`", ln, op);
  }
#undef NARGS
  return 0;
}

/* `buf` is modified in place and must outlive the plan (tokens point into it). */
int plan_parse(struct plan *p, const char *cbuf, size_t len, struct berr *e)
{
  char *buf = (char *)cbuf;
  int ln = 0;
  memset(p, 0, sizeof *p);
  if (memchr(buf, 0, len))
    return fail_msg(e, "plan", NULL, EINVAL, "plan: contains a NUL byte");
  for (char *line = buf; line < buf + len;) {
    char *nl = memchr(line, '\n', (size_t)(buf + len - line));
    if (!nl)
      return bad(e, ln + 1, "missing final newline");
    *nl = 0;
    ln++;
    char *cur = line;
    line = nl + 1;
    if (ln == 1) {
      if (strcmp(cur, "berth-plan 1"))
        return fail_msg(e, "plan", NULL, EINVAL, "plan: first line must be `berth-plan 1`");
      continue;
    }
    if (cur[0] == '#' || cur[0] == 0)
      continue;
    int n = 0, cap = 1;
    for (char *s = cur; *s; s++)
      cap += *s == ' ';
    if (cap > MAX_TOKENS)
      return bad(e, ln, "too many tokens");
    char **t = calloc((size_t)cap + 1, sizeof *t);
    for (char *s = cur;;) {
      char *sp = strchr(s, ' ');
      if (sp)
        *sp = 0;
      if (*s == 0 || pct_decode(s))
        return bad(e, ln, "bad token encoding");
      t[n++] = s;
      if (!sp)
        break;
      s = sp + 1;
    }
    t[n] = NULL;
    if (parse_line(p, t, n, ln, e))
      return -1;
  }
  if (ln == 0)
    return fail_msg(e, "plan", NULL, EINVAL, "plan: empty");
  if (!p->args)
    return fail_msg(e, "plan", NULL, EINVAL, "plan: no `args` record");
  for (int i = 0; i < p->nactions; i++)
    if (!p->root && (p->actions[i].op == A_BIND_ROOT || p->actions[i].op == A_PIVOT))
      return fail_msg(e, "plan", NULL, EINVAL, "plan: `%s` needs a `root` record", p->actions[i].name);
  return 0;
}
