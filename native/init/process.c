/* process.c: the fixed tail of the plan: console, limits, identity, caps, fds, exec. */
#include <ctype.h>
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static int send_fd(int sock, int fd)
{
  char byte = 0;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  ssize_t r;
  do
    r = sendmsg(sock, &m, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -1 : 0;
}

static int console(struct ctx *c, struct berr *e)
{
  struct plan *p = c->plan;
  int unlock = 0;
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return fail_sys(e, "console", "/dev/ptmx");
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
    return fail_sys(e, "console", "/dev/ptmx");
  /* TIOCGPTPEER opens the slave from the master itself, so no /dev/pts path can be raced. */
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    return fail_sys(e, "console", "/dev/pts");
  if (p->has_console_size) {
    struct winsize ws = { .ws_row = p->rows, .ws_col = p->cols };
    if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
      return fail_sys(e, "console", "/dev/pts");
  }
  if (send_fd(c->console_fd, master) < 0)
    return fail_sys(e, "console", p->console_socket);
  close(master);
  close(c->console_fd);
  c->console_fd = -1;
  if (setsid() < 0)
    return fail_sys(e, "console", "setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    return fail_sys(e, "console", "/dev/pts");
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0)
      return fail_sys(e, "console", "/dev/pts");
  close(slave);
  return 0;
}

static int limits(struct ctx *c, struct berr *e)
{
  struct plan *p = c->plan;
  if (p->has_oom) {
    char b[32];
    int n = snprintf(b, sizeof b, "%d", p->oom_score_adj);
    if (c->oom_fd < 0 || write(c->oom_fd, b, (size_t)n) != n)
      return fail_sys(e, "oom-score-adj", "/proc/self/oom_score_adj");
    close(c->oom_fd);
    c->oom_fd = -1;
  }
  for (int i = 0; i < p->nrlimits; i++) {
    struct rlim *r = &p->rlimits[i];
    struct rlimit rl = { .rlim_cur = r->soft < 0 ? RLIM_INFINITY : (rlim_t)r->soft,
                         .rlim_max = r->hard < 0 ? RLIM_INFINITY : (rlim_t)r->hard };
    if (setrlimit((__rlimit_resource_t)r->resource, &rl) < 0) {
      char what[32];
      snprintf(what, sizeof what, "%d", r->resource);
      return fail_sys(e, "rlimit", what);
    }
  }
  return 0;
}

static int identity(struct plan *p, struct berr *e)
{
  if (p->ngroups > 0 || !p->setgroups_deny) {
    /* With setgroups denied (unprivileged-style maps) the call is refused by design;
     * there is nothing to drop then, as no supplementary groups can be mapped. */
    if (setgroups((size_t)p->ngroups, p->groups) < 0)
      return fail_sys(e, "groups", NULL);
  }
  if (!p->has_user)
    return 0;
  if (setresgid(p->gid, p->gid, p->gid) < 0)
    return fail_sys(e, "user", NULL);
  if (setresuid(p->uid, p->uid, p->uid) < 0)
    return fail_sys(e, "user", NULL);
  return 0;
}

static int capset3(uint64_t eff, uint64_t prm, uint64_t inh)
{
  struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct d[2] = {
    { .effective = (uint32_t)eff, .permitted = (uint32_t)prm, .inheritable = (uint32_t)inh },
    { .effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(prm >> 32), .inheritable = (uint32_t)(inh >> 32) },
  };
  return (int)syscall(SYS_capset, &h, d);
}

static int caps(struct plan *p, struct berr *e)
{
  struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) < 0)
    return fail_sys(e, "caps", NULL);
  uint64_t prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
  uint64_t inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
  /* setresuid to a non-root uid (step 3) cleared the effective set even with KEEPCAPS;
   * raise it back from the permitted set so CAP_SETPCAP can drop the bounding set. */
  if (capset3(prm, prm, inh) < 0)
    return fail_sys(e, "caps", NULL);
  /* PR_CAPBSET_READ answers EINVAL past the last cap this kernel knows. */
  for (int cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
    if (p->caps[CAP_SET_BOUNDING] & (1ULL << cap))
      continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
      return fail_sys(e, "caps", "bounding");
  }
  if (capset3(p->caps[CAP_SET_EFFECTIVE], p->caps[CAP_SET_PERMITTED], p->caps[CAP_SET_INHERITABLE]) < 0)
    return fail_sys(e, "caps", "effective/permitted/inheritable");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
    return fail_sys(e, "caps", "ambient");
  /* The kernel refuses (EPERM) an ambient cap that is not both permitted and inheritable;
   * runc only warns then, and OCI configs commonly list ambient caps without inheritable
   * ones, so such a cap is skipped: the process just has less. */
  for (int cap = 0; cap < 64; cap++)
    if ((p->caps[CAP_SET_AMBIENT] & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0 &&
        errno != EPERM)
      return fail_sys(e, "caps", "ambient");
  return 0;
}

/* Errors of the exec step read as runc's (Go's lower-case errno texts): Docker clients match
 * "no such file or directory", "executable file not found", "permission denied" and
 * "is a directory" to pick the exit codes 127 and 126. */
static const char *go_strerror(int err)
{
  static char buf[128];
  snprintf(buf, sizeof buf, "%s", strerror(err));
  buf[0] = (char)tolower((unsigned char)buf[0]);
  return buf;
}

static int find_exec(struct plan *p, char *out, size_t n, struct berr *e)
{
  const char *arg0 = p->args[0];
  if (strchr(arg0, '/')) {
    /* Checked here, before `created`, as runc does: a missing binary must fail create (with
     * the step named) rather than a later start that nobody is watching. */
    struct stat st;
    snprintf(out, n, "%s", arg0);
    if (stat(out, &st) < 0)
      return fail_msg(e, "exec", arg0, errno, "exec: \"%s\": stat %s: %s", arg0, arg0, go_strerror(errno));
    if (S_ISDIR(st.st_mode) || access(out, X_OK) < 0)
      return fail_msg(e, "exec", arg0, EACCES, "exec: \"%s\": %s", arg0, go_strerror(S_ISDIR(st.st_mode) ? EISDIR : EACCES));
    return 0;
  }
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (int i = 0; i < p->nenv; i++)
    if (!strncmp(p->env[i], "PATH=", 5))
      path = p->env[i] + 5;
  int err = ENOENT;
  for (const char *s = path;; s++) {
    const char *end = strchrnul(s, ':');
    struct stat st;
    snprintf(out, n, "%.*s%s%s", (int)(end - s), s, end == s ? "" : "/", arg0);
    if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(out, X_OK) == 0)
        return 0;
      err = EACCES;
    }
    if (!*end)
      break;
    s = end;
  }
  return fail_msg(e, "exec", arg0, err, "exec: \"%s\": executable file not found in $PATH", arg0);
}

/* runc's `start` reads one byte from the fifo; a reader that already went away must not
 * kill us with SIGPIPE, and the SIGPIPE must not stay pending into the container. */
static int exec_fifo(struct ctx *c, struct berr *e)
{
  char p[64];
  sigset_t pipe, old;
  snprintf(p, sizeof p, "/proc/self/fd/%d", c->fifo_fd);
  int fd;
  do
    fd = open(p, O_WRONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return fail_sys(e, "exec-fifo", c->plan->exec_fifo);
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  sigprocmask(SIG_BLOCK, &pipe, &old);
  if (write(fd, "0", 1) < 0 && errno == EPIPE) {
    struct timespec zero = { 0, 0 };
    sigtimedwait(&pipe, NULL, &zero);
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  close(fd);
  close(c->fifo_fd);
  c->fifo_fd = -1;
  return 0;
}

int process_finish(struct ctx *c, struct berr *e)
{
  struct plan *p = c->plan;
  char exe[4096];

  /* 1. console */
  if (p->console_socket) {
    if (console(c, e))
      return -1;
  } else if (p->clone_flags & CLONE_NEWPID) {
    if (setsid() < 0)
      return fail_sys(e, "console", "setsid");
  }
  /* 2. */
  if (limits(c, e))
    return -1;
  msg_phase("process");
  /* 3. */
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return fail_sys(e, "user", "keepcaps");
  if (p->has_seccomp && !p->no_new_privs) {
    if (seccomp_load_plan(c, e))
      return -1;
    msg_phase("seccomp");
  }
  if (identity(p, e))
    return -1;
  /* 4. */
  if (caps(p, e))
    return -1;
  /* 5. */
  umask(p->has_umask ? p->umask : c->orig_umask);
  if (root_chdir(p->cwd ? p->cwd : "/", e))
    return -1;
  /* 6. */
  if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return fail_sys(e, "no-new-privs", NULL);
  msg_phase("security");
  if (p->has_seccomp && p->no_new_privs) {
    if (seccomp_load_plan(c, e))
      return -1;
    msg_phase("seccomp");
  }
  /* 7. Nothing the caller or we opened reaches the container: everything above the
   * preserved fds is close-on-exec (the sync fd and exec fifo stay usable until execve). */
  unsigned first = 3 + (unsigned)p->preserve_fds;
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    return fail_sys(e, "fds", NULL);
  for (int fd = 3; fd < (int)first; fd++) {
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0 && (fl & FD_CLOEXEC) && fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
      return fail_sys(e, "fds", NULL);
  }
  if (find_exec(p, exe, sizeof exe, e))
    return -1;
  msg_phase("ready");
  /* 8. Not `created` (nor running) before the bootstrap has put us in our cgroups. */
  bootstrap_wait_joined(c);
  msg_created();
  if (c->status_pipe[1] >= 0) {
    ssize_t w = write(c->status_pipe[1], "c", 1);
    (void)w;
    close(c->status_pipe[1]);
    c->status_pipe[1] = -1;
  }
  if (c->fifo_fd >= 0 && exec_fifo(c, e))
    return -1;
  p->env = realloc(p->env, sizeof *p->env * (size_t)(p->nenv + 1));
  p->env[p->nenv] = NULL;
  /* The start was released: the caller times the container's execve by this line. */
  msg_phase("exec");
  execve(exe, p->args, p->env);
  return fail_sys(e, "exec", p->args[0]);
}
