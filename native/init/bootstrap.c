/* bootstrap.c: joins cgroups and namespaces, clones the container process, writes its id
 * maps, then either exits (--detach) or stays as its reaping, signal-forwarding parent. */
#include "init.h"
#include "../common/loopback.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <linux/sched.h>
#include <unistd.h>

#define STACK_SIZE (8 << 20)

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

static int write_file(const char *path, const char *data, size_t n)
{
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t w = write(fd, data, n);
  int err = errno;
  close(fd);
  errno = err;
  return w == (ssize_t)n ? 0 : -1;
}

static int write_map(pid_t pid, const char *name, struct idmap *m, int n, struct berr *e)
{
  char path[64], buf[4096];
  size_t len = 0;
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
  /* The kernel takes a map in a single write only. */
  for (int i = 0; i < n && len < sizeof buf - 80; i++)
    len += (size_t)snprintf(buf + len, sizeof buf - len, "%lu %lu %lu\n", m[i].inside, m[i].outside, m[i].count);
  if (write_file(path, buf, len) < 0)
    return fail_sys(e, "maps", path);
  return 0;
}

static int write_file_setgroups(pid_t pid, struct berr *e)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
  if (write_file(path, "deny", 4) < 0)
    return fail_sys(e, "maps", path);
  return 0;
}

/* Paths to open while we still see the host's mount namespace: after a `setns mnt` they
 * would resolve inside the container instead. */
static int open_host_side(struct ctx *c, struct berr *e)
{
  struct plan *p = c->plan;
  if (p->exec_fifo) {
    struct stat st;
    if (mkfifo(p->exec_fifo, 0622) == 0) {
      /* mkfifo honours the umask; the mode is part of the contract. */
      if (chmod(p->exec_fifo, 0622) < 0)
        return fail_sys(e, "exec-fifo", p->exec_fifo);
    } else if (errno != EEXIST) {
      return fail_sys(e, "exec-fifo", p->exec_fifo);
    }
    c->fifo_fd = open(p->exec_fifo, O_PATH | O_CLOEXEC);
    if (c->fifo_fd >= 0 && (fstat(c->fifo_fd, &st) < 0 || !S_ISFIFO(st.st_mode)))
      return fail_msg(e, "exec-fifo", p->exec_fifo, EEXIST, "exec-fifo `%s`: exists and is not a fifo", p->exec_fifo);
    if (c->fifo_fd < 0)
      return fail_sys(e, "exec-fifo", p->exec_fifo);
  }
  if (p->console_socket) {
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(p->console_socket) >= sizeof a.sun_path)
      return fail_msg(e, "console", p->console_socket, ENAMETOOLONG, "console `%s`: %s", p->console_socket,
                      strerror(ENAMETOOLONG));
    strcpy(a.sun_path, p->console_socket);
    c->console_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->console_fd < 0 || connect(c->console_fd, (struct sockaddr *)&a, sizeof a) < 0)
      return fail_sys(e, "console", p->console_socket);
  }
  return 0;
}

/* Whether the container process may join its cgroups after the clone, while it sets itself up,
 * instead of the bootstrap joining before it (so that the child starts inside). Not with a new
 * cgroup namespace (its root is the cgroup at clone time) nor after joining a user namespace
 * (the bootstrap then lacks the host's rights over the cgroup files). */
static int late_join(const struct plan *p)
{
  if (!p->ncgroup_join || (p->clone_flags & CLONE_NEWCGROUP))
    return 0;
  for (int i = 0; i < p->nsetns; i++)
    if (p->setns[i].type == CLONE_NEWUSER || p->setns[i].type == CLONE_NEWCGROUP)
      return 0;
  return 1;
}

/* The v1 `tasks` file beside a `cgroup.procs` one, opened for writing; -1 (errno ENOENT) on v2,
 * which has none. Writing "0" to it moves the calling thread only, and the kernel then skips the
 * global cgroup_threadgroup_rwsem (cgroup_procs_write_start): no RCU grace period to wait for,
 * where a cgroup.procs write waits for one (7-12 ms here). For a process of one thread (the
 * bootstrap, the container process before it execs) moving the thread is moving the process. */
static int open_tasks(const char *procs)
{
  static const char suffix[] = "/cgroup.procs";
  size_t n = strlen(procs), s = sizeof suffix - 1;
  char path[PATH_MAX];
  if (n < s || strcmp(procs + n - s, suffix) || n - s + sizeof "/tasks" > sizeof path) {
    errno = ENOENT;
    return -1;
  }
  memcpy(path, procs, n - s);
  strcpy(path + n - s, "/tasks");
  return open(path, O_WRONLY | O_CLOEXEC);
}

/* The directory of a cgroup.procs file, for CLONE_INTO_CGROUP; -1 when it cannot be had (the
 * late join then does it). */
static int child_main(void *arg);

static int open_dir_of(const char *procs)
{
  char path[PATH_MAX];
  const char *slash = strrchr(procs, '/');
  if (!slash || slash == procs || (size_t)(slash - procs) >= sizeof path)
    return -1;
  memcpy(path, procs, (size_t)(slash - procs));
  path[slash - procs] = 0;
  return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* clone3 with CLONE_INTO_CGROUP (Linux 5.7): the container process is born in its v2 cgroup, a
 * fork-time placement that takes no cgroup_threadgroup_rwsem for writing, so no RCU grace period
 * (a v2 cgroup.procs write waits for one, 7-12 ms here). Like fork, the child returns here, on a
 * copy of our stack, and goes on in child_main. -1 with errno when the kernel refuses it (an
 * older kernel, a cgroup it will not take): the caller then clones as before and joins late. */
static pid_t clone_into_cgroup(struct ctx *c)
{
  struct plan *p = c->plan;
  struct clone_args a;
  memset(&a, 0, sizeof a);
  /* With CLONE_PARENT the exit signal must be 0: the child inherits ours (SIGCHLD to the shim). */
  a.flags = (p->clone_flags & ~(uint64_t)CLONE_NEWTIME) | CLONE_INTO_CGROUP | (c->detach ? CLONE_PARENT : 0);
  a.exit_signal = c->detach ? 0 : SIGCHLD;
  a.cgroup = (uint64_t)c->cgroup_dir_fd;
  int saved = c->njoin;
  c->njoin = 0; /* as the child sees it: nothing left to wait for */
  c->into_cgroup = 1;
  pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof a);
  if (pid == 0)
    _exit(child_main(c));
  if (pid < 0) {
    int err = errno;
    c->njoin = saved;
    c->into_cgroup = 0;
    errno = err;
  }
  return pid;
}

/* Late join, in the bootstrap: the container process's pid into every remaining (v2) cgroup.procs. */
static int join_child(struct ctx *c, pid_t pid, struct berr *e)
{
  struct plan *p = c->plan;
  char b[24];
  int n = snprintf(b, sizeof b, "%d", (int)pid);
  for (int i = 0; i < c->njoin; i++) {
    ssize_t w = write(c->join_fds[i], b, (size_t)n);
    int err = errno;
    close(c->join_fds[i]);
    c->join_fds[i] = -1;
    if (w != n) {
      errno = w < 0 ? err : EIO;
      return fail_sys(e, "cgroup-join", p->cgroup_join[c->join_idx[i]]);
    }
  }
  return 0;
}

int bootstrap_self_join(struct ctx *c, struct berr *e)
{
  for (int i = 0; i < c->nself; i++) {
    ssize_t w = write(c->self_fds[i], "0", 1);
    int err = errno;
    close(c->self_fds[i]);
    c->self_fds[i] = -1;
    if (w != 1) {
      errno = w < 0 ? err : EIO;
      return fail_sys(e, "cgroup-join", c->plan->cgroup_join[c->self_idx[i]]);
    }
  }
  if ((c->nself || c->into_cgroup) && !c->njoin)
    msg_phase("cgroup");
  return 0;
}

void bootstrap_wait_joined(struct ctx *c)
{
  char j;
  ssize_t r;
  if (!c->njoin)
    return;
  do
    r = read(c->maps_pipe[0], &j, 1);
  while (r < 0 && errno == EINTR);
  if (r != 1)
    _exit(EXIT_SETUP); /* the bootstrap failed and said so */
  close(c->maps_pipe[0]);
}

static int join(struct ctx *c, struct berr *e)
{
  struct plan *p = c->plan;
  int fds[16];
  if (p->nsetns > 16)
    return fail_msg(e, "setns", NULL, EINVAL, "setns: too many namespaces");
  if (late_join(p)) {
    /* Opened now: after a `setns mnt` the paths would resolve inside the container. The v1
     * `tasks` files are written by the child itself, first thing after the clone; a v2
     * cgroup.procs by us, with the child's pid, while the child sets itself up. */
    int n = p->ncgroup_join;
    c->self_fds = calloc((size_t)n, sizeof *c->self_fds);
    c->join_fds = calloc((size_t)n, sizeof *c->join_fds);
    c->join_idx = calloc((size_t)n, sizeof *c->join_idx);
    c->self_idx = calloc((size_t)n, sizeof *c->self_idx);
    if (!c->self_fds || !c->join_fds || !c->join_idx || !c->self_idx)
      return fail_msg(e, "cgroup-join", NULL, ENOMEM, "cgroup-join: out of memory");
    for (int i = 0; i < n; i++) {
      int fd = open_tasks(p->cgroup_join[i]);
      if (fd >= 0) {
        c->self_idx[c->nself] = i;
        c->self_fds[c->nself++] = fd;
        continue;
      }
      if (errno != ENOENT)
        return fail_sys(e, "cgroup-join", p->cgroup_join[i]);
      if ((fd = open(p->cgroup_join[i], O_WRONLY | O_CLOEXEC)) < 0)
        return fail_sys(e, "cgroup-join", p->cgroup_join[i]);
      if (c->njoin == 0)
        c->cgroup_dir_fd = open_dir_of(p->cgroup_join[i]);
      c->join_idx[c->njoin] = i;
      c->join_fds[c->njoin++] = fd;
    }
  } else {
    /* Before the clone, so the child starts inside: our own thread (we have one) by `tasks`
     * on v1, the process by cgroup.procs on v2. */
    for (int i = 0; i < p->ncgroup_join; i++) {
      int fd = open_tasks(p->cgroup_join[i]);
      if (fd < 0 && errno != ENOENT)
        return fail_sys(e, "cgroup-join", p->cgroup_join[i]);
      if (fd >= 0) {
        ssize_t w = write(fd, "0", 1);
        int err = errno;
        close(fd);
        errno = err;
        if (w != 1)
          return fail_sys(e, "cgroup-join", p->cgroup_join[i]);
      } else if (write_file(p->cgroup_join[i], "0", 1) < 0) {
        return fail_sys(e, "cgroup-join", p->cgroup_join[i]);
      }
    }
    if (p->ncgroup_join)
      msg_phase("cgroup");
  }
  /* Open every namespace first: joining a mount namespace changes what later paths mean. */
  for (int i = 0; i < p->nsetns; i++) {
    fds[i] = open(p->setns[i].path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0)
      return fail_sys(e, "setns", p->setns[i].path);
  }
  /* The user namespace first: it grants the capabilities needed to join the others. */
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < p->nsetns; i++) {
      if ((p->setns[i].type == CLONE_NEWUSER) != (pass == 0))
        continue;
      if (setns(fds[i], p->setns[i].type) < 0)
        return fail_sys(e, "setns", p->setns[i].path);
      close(fds[i]);
    }
  if (p->nsetns)
    msg_phase("setns");
  if (p->clone_flags & CLONE_NEWTIME) {
    /* CLONE_NEWTIME (0x80) overlaps CSIGNAL in clone(2)'s flags, so it is only usable with
     * unshare; the new time namespace applies to our children, offsets set before any. */
    if (unshare(CLONE_NEWTIME) < 0)
      return fail_sys(e, "timens", NULL);
    for (int i = 0; i < p->ntimens; i++) {
      char b[96];
      int n = snprintf(b, sizeof b, "%s %lld %lld\n", p->timens[i].clock, p->timens[i].sec, p->timens[i].nsec);
      if (write_file("/proc/self/timens_offsets", b, (size_t)n) < 0)
        return fail_sys(e, "timens", "/proc/self/timens_offsets");
    }
  }
  return 0;
}

/* `lo` up in the container's new network namespace (plan record `loopback-up`). */
static int loopback_up(struct berr *e)
{
  if (set_loopback_up() < 0)
    return fail_sys(e, "loopback", "lo");
  return 0;
}

static int in_userns(const struct plan *p)
{
  if (p->clone_flags & CLONE_NEWUSER)
    return 1;
  for (int i = 0; i < p->nsetns; i++)
    if (p->setns[i].type == CLONE_NEWUSER)
      return 1;
  return 0;
}

static int child_main(void *arg)
{
  struct ctx *c = arg;
  struct plan *p = c->plan;
  struct berr e = { 0 };
  char go;
  ssize_t r;

  sigprocmask(SIG_SETMASK, &c->orig_mask, NULL);
  close(c->maps_pipe[1]);
  if (c->status_pipe[0] >= 0)
    close(c->status_pipe[0]);
  do
    r = read(c->maps_pipe[0], &go, 1);
  while (r < 0 && errno == EINTR);
  if (r != 1)
    _exit(EXIT_SETUP); /* the bootstrap failed and said so */
  if (!c->njoin)
    close(c->maps_pipe[0]); /* else kept for the 'j' of the late join */
  /* Into the v1 cgroups before anything else, so the setup is charged to them. */
  if (bootstrap_self_join(c, &e) < 0)
    goto fail;

  if (in_userns(p)) {
    /* Become the namespace's root so files we create are owned by a mapped id; EINVAL just
     * means 0 is not mapped, and the plan's `user` decides the final ids anyway. */
    if ((setresgid(0, 0, 0) < 0 && errno != EINVAL) || (setresuid(0, 0, 0) < 0 && errno != EINVAL)) {
      fail_sys(&e, "user", NULL);
      goto fail;
    }
  }
  /* Modes in the plan are exact; the container's umask is set in the tail. */
  c->orig_umask = umask(0);
  if (p->has_oom) {
    c->oom_fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (c->oom_fd < 0) {
      fail_sys(&e, "oom-score-adj", "/proc/self/oom_score_adj");
      goto fail;
    }
  }
  if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0) {
    fail_sys(&e, "hostname", p->hostname);
    goto fail;
  }
  if (p->domainname && setdomainname(p->domainname, strlen(p->domainname)) < 0) {
    fail_sys(&e, "domainname", p->domainname);
    goto fail;
  }
  if (p->loopback_up && loopback_up(&e) < 0)
    goto fail;
  msg_phase("namespaces");
  if (run_actions(c, &e) == 0)
    process_finish(c, &e);
fail:
  msg_error(&e);
  if (c->status_pipe[1] >= 0) {
    ssize_t w = write(c->status_pipe[1], "e", 1);
    (void)w;
  }
  if (e.step && !strcmp(e.step, "exec"))
    _exit(e.errnum == ENOENT ? 127 : 126);
  _exit(EXIT_SETUP);
}

static int wait_container(pid_t pid, const sigset_t *set)
{
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(set, &si);
    if (sig < 0)
      continue;
    if (sig != SIGCHLD) {
      kill(pid, sig);
      continue;
    }
    int status, done = 0, code = 0;
    pid_t r;
    while ((r = waitpid(-1, &status, WNOHANG)) > 0) {
      if (r != pid)
        continue;
      done = 1;
      code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (done)
      return code;
  }
}

int bootstrap_run(struct ctx *c, struct berr *e)
{
  struct plan *p = c->plan;
  sigset_t set;
  c->fifo_fd = c->console_fd = c->oom_fd = -1;
  c->status_pipe[0] = c->status_pipe[1] = -1;
  c->cgroup_dir_fd = -1;

  /* The filter is compiled (or read from the cache) here, once, while host paths are reachable. */
  if (seccomp_prepare(c, e) || open_host_side(c, e) || join(c, e))
    return -1;
  sigemptyset(&set);
  if (!c->detach) {
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
      return fail_sys(e, "bootstrap", "subreaper");
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
      sigaddset(&set, forwarded[i]);
    sigaddset(&set, SIGCHLD);
  }
  /* Blocked before clone, so nothing sent in between is lost: it is forwarded afterwards. */
  sigprocmask(SIG_BLOCK, &set, &c->orig_mask);
  if (pipe2(c->maps_pipe, O_CLOEXEC) < 0 || (c->detach && pipe2(c->status_pipe, O_CLOEXEC) < 0))
    return fail_sys(e, "clone", "pipe");

  pid_t pid = -1;
  if (c->cgroup_dir_fd >= 0 && c->njoin == 1 && (pid = clone_into_cgroup(c)) > 0) {
    close(c->join_fds[0]); /* born in it: the late join's file is not needed */
    c->join_fds[0] = -1;
  }
  if (c->cgroup_dir_fd >= 0)
    close(c->cgroup_dir_fd);
  if (pid < 0) {
    char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    if (stack == MAP_FAILED)
      return fail_sys(e, "clone", "stack");
    int flags = (int)(p->clone_flags & ~(unsigned long)CLONE_NEWTIME) | SIGCHLD | (c->detach ? CLONE_PARENT : 0);
    pid = clone(child_main, stack + STACK_SIZE, flags, c);
    if (pid < 0)
      return fail_sys(e, "clone", NULL);
  }
  msg_pid(pid);
  msg_phase("clone");
  /* The late join's 'j' may find the child already gone (its setup failed and it said so). */
  signal(SIGPIPE, SIG_IGN);
  close(c->maps_pipe[0]);
  if (c->detach)
    close(c->status_pipe[1]);

  if ((p->nuid_map && write_map(pid, "uid_map", p->uid_map, p->nuid_map, e)) ||
      (p->setgroups_deny && write_file_setgroups(pid, e)) ||
      (p->ngid_map && write_map(pid, "gid_map", p->gid_map, p->ngid_map, e))) {
    kill(pid, SIGKILL);
    if (!c->detach)
      waitpid(pid, NULL, 0);
    return -1;
  }
  msg_phase("maps");
  if (write(c->maps_pipe[1], "1", 1) != 1) {
    kill(pid, SIGKILL);
    return fail_sys(e, "clone", "pipe");
  }
  /* The child sets itself up meanwhile, and waits for the 'j' before it reports `created`. */
  /* The phase is written before the 'j': the child's `ready` cannot come first. */
  if (c->njoin && (join_child(c, pid, e) || (msg_phase("cgroup"), write(c->maps_pipe[1], "j", 1) != 1))) {
    if (!e->step)
      fail_sys(e, "cgroup-join", "pipe");
    kill(pid, SIGKILL);
    if (!c->detach)
      waitpid(pid, NULL, 0);
    return -1;
  }
  close(c->maps_pipe[1]);

  if (c->detach) {
    char st = 0;
    ssize_t r;
    do
      r = read(c->status_pipe[0], &st, 1);
    while (r < 0 && errno == EINTR);
    if (r == 1 && st == 'c')
      return 0;
    if (r == 1)
      return 1; /* the container process reported its own error */
    return fail_msg(e, "init", NULL, 0, "the container process exited during setup");
  }
  return wait_container(pid, &set);
}
