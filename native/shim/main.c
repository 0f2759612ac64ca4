/* berth-shim: the per-container supervisor (docs/shim.md). Detaches, starts the container
 * through berth-init, reports one line, then serves its socket until the container is gone. */
#include "shim.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

struct shim S;

static const char usage[] =
    "usage: berth-shim --id ID --dir DIR ((--init BERTH-INIT | --init-fd N) --plan PLAN | --runtime BINARY [--runtime-arg ARG]... "
    "--runtime-root DIR --bundle DIR [--console SOCKET]) [--socket PATH] [--terminal] [--stdin] [--log PATH] "
    "[--log-max-size BYTES] [--log-max-files N] [--log-compress] [--oom-cgroup V1-MEMORY-DIR | --oom-cgroup2 V2-DIR]";

static void report_error(const struct serr *e)
{
  char b[2400];
  size_t n = (size_t)snprintf(b, sizeof b, "{\"type\":\"error\",\"step\":\"%s\",\"errno\":%d,\"message\":\"", e->step,
                              e->errnum);
  n = json_str(b, sizeof b - 4, n, e->msg, strlen(e->msg));
  memcpy(b + n, "\"}\n", 3);
  write_all(1, b, n + 3);
}

/* The shim changes to / (it must not hold the launcher's cwd busy), so paths are made absolute. */
static const char *absolute(const char *p)
{
  static char cwd[4096];
  if (!p || p[0] == '/')
    return p;
  if (!cwd[0] && !getcwd(cwd, sizeof cwd))
    return p;
  char *a = malloc(strlen(cwd) + strlen(p) + 2);
  if (!a)
    return p;
  sprintf(a, "%s/%s", cwd, p);
  return a;
}

static int parse_num(const char *s, long long *out)
{
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || !*s || *end || v < 0)
    return -1;
  *out = v;
  return 0;
}

static int parse_args(int argc, char **argv, struct serr *e)
{
  long long num;
  const char *sock = NULL;
  S.log_max_files = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--terminal")) {
      S.terminal = 1;
      continue;
    }
    if (!strcmp(a, "--stdin")) {
      S.has_stdin = 1;
      continue;
    }
    if (!strcmp(a, "--log-compress")) {
      S.log_compress = 1;
      continue;
    }
    if (!val)
      return fail_msg(e, "usage", EINVAL, "%s: a value is required; %s", a, usage);
    i++;
    if (!strcmp(a, "--id"))
      S.id = val;
    else if (!strcmp(a, "--dir"))
      S.dir = absolute(val);
    else if (!strcmp(a, "--init"))
      S.init = absolute(val);
    else if (!strcmp(a, "--init-fd")) {
      /* berth-init as an open (sealed memfd) file, from berth-helper: exec'd through its
       * /proc/self/fd path, so berth-init finds itself sealed and skips its own copy. Moved
       * above 0..3, which the launch gives to berth-init's stdio and sync fd. */
      static char path[64];
      int fd;
      if (parse_num(val, &num) < 0 || num > 1 << 20 || (fd = fcntl((int)num, F_DUPFD_CLOEXEC, 10)) < 0)
        return fail_msg(e, "usage", EBADF, "--init-fd: not an open fd: %s", val);
      close((int)num);
      snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
      S.init = path;
    }
    else if (!strcmp(a, "--plan"))
      S.plan = absolute(val);
    else if (!strcmp(a, "--socket"))
      sock = absolute(val);
    else if (!strcmp(a, "--log"))
      S.log_path = absolute(val);
    else if (!strcmp(a, "--runtime"))
      S.runtime = val; /* a name is looked up in PATH, as dockerd does */
    else if (!strcmp(a, "--runtime-arg")) {
      const char **n = realloc(S.runtime_args, sizeof *n * (size_t)(S.n_runtime_args + 1));
      if (!n)
        return fail_msg(e, "usage", ENOMEM, "out of memory");
      S.runtime_args = n;
      S.runtime_args[S.n_runtime_args++] = val;
    } else if (!strcmp(a, "--runtime-root"))
      S.runtime_root = absolute(val);
    else if (!strcmp(a, "--bundle"))
      S.bundle = absolute(val);
    else if (!strcmp(a, "--console"))
      S.console = absolute(val);
    else if (!strcmp(a, "--oom-cgroup") || !strcmp(a, "--oom-cgroup2")) {
      S.oom_dir = absolute(val);
      S.oom_v2 = a[12] == '2';
    } else if (!strcmp(a, "--log-max-size") || !strcmp(a, "--log-max-files")) {
      if (parse_num(val, &num) < 0)
        return fail_msg(e, "usage", EINVAL, "%s: not a number: %s", a, val);
      if (a[10] == 's')
        S.log_max_size = num;
      else
        S.log_max_files = num < 1 ? 1 : num > 1000 ? 1000 : (int)num;
    } else {
      return fail_msg(e, "usage", EINVAL, "unknown option %s; %s", a, usage);
    }
  }
  if (!S.id || !S.dir || (S.runtime ? !S.bundle || !S.runtime_root || (S.terminal && !S.console) : !S.init || !S.plan))
    return fail_msg(e, "usage", EINVAL, "%s", usage);
  /* The caller keeps sockets out of DIR (a short dir of its own), so that sun_path's 107 bytes
   * do not limit how long the task dir may be; DIR/shim.sock is the default. Refused here,
   * before anything runs, rather than after the container was created. */
  if (sock)
    snprintf(S.sock_path, sizeof S.sock_path, "%s", sock);
  else
    snprintf(S.sock_path, sizeof S.sock_path, "%s/shim.sock", S.dir);
  if (strlen(S.sock_path) > SUN_PATH_MAX)
    return fail_msg(e, "socket", ENAMETOOLONG, "socket `%s`: %s (a unix socket path holds at most %d bytes)", S.sock_path,
                    strerror(ENAMETOOLONG), SUN_PATH_MAX);
  snprintf(S.pid_path, sizeof S.pid_path, "%s/shim.pid", S.dir);
  return 0;
}

static void on_signal(struct ev *ev, uint32_t events)
{
  struct signalfd_siginfo si;
  (void)events;
  while (read(ev->fd, &si, sizeof si) == (ssize_t)sizeof si)
    if (si.ssi_signo == SIGTERM && S.ctr && !S.ctr->exited)
      kill(S.ctr->pid, SIGTERM); /* berthd's stop goes through the socket; a stray TERM is passed on */
  reap_children();
}

static void on_tick(struct ev *ev, uint32_t events)
{
  uint64_t n;
  int64_t now = mono_ms();
  int waiting = S.finishing;
  (void)events;
  if (read(ev->fd, &n, sizeof n) < 0 && errno != EAGAIN)
    return;
  task_check_drain(S.ctr, now);
  waiting |= S.ctr->exited && !S.ctr->drained;
  waiting |= log_drops_tick(now);
  for (struct task *t = S.execs; t; t = t->next) {
    task_check_drain(t, now);
    waiting |= t->exited && !t->drained;
  }
  if (!waiting) {
    struct itimerspec off = { 0 };
    timerfd_settime(ev->fd, 0, &off, NULL);
    S.ticking = 0;
  }
}

void tick_need(void)
{
  struct itimerspec every = { .it_interval = { 0, 50000000 }, .it_value = { 0, 50000000 } };
  if (S.ticking || S.tick.fd < 0)
    return;
  if (timerfd_settime(S.tick.fd, 0, &every, NULL) == 0)
    S.ticking = 1;
}

static int setup_loop(struct serr *e)
{
  sigset_t set;
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, NULL);
  if (loop_init(e))
    return -1;
  S.sig.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  S.tick.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (S.sig.fd < 0 || S.tick.fd < 0)
    return fail_sys(e, "signals", NULL);
  S.sig.fn = on_signal;
  S.tick.fn = on_tick;
  ev_watch(&S.tick, EPOLLIN);
  return 0;
}

/* The log, the control socket and the pid file: what "ready" promises besides the container. */
static int open_outputs(struct serr *e)
{
  if (log_open(e) || ctrl_listen(e))
    return -1;
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%d", (int)S.pid);
  if (write_file_atomic(S.dir, "shim.pid", pid, (size_t)n, e)) {
    e->step = "pidfile";
    return -1;
  }
  return 0;
}

/* berth-init until `created` (blocking: nothing else is being served yet); the log, the socket
 * and the pid file are made meanwhile, while berth-init sets the container up on another CPU,
 * so that "ready" means everything is in place. */
static int start_container(struct launch *l, struct serr *e)
{
  char console[4096];
  int st;
  long long oom;
  l->terminal = S.terminal;
  l->has_stdin = S.has_stdin;
  if (S.runtime) {
    if (runtime_create(l, e))
      return -1;
  } else {
    if (S.terminal && (plan_console_socket(S.plan, console, sizeof console, e) || !(l->console = strdup(console))))
      return -1;
    S.spawn_ns = mono_ns();
    if (launch_spawn(l, S.plan, e))
      return -1;
    /* A failure here is reported once berth-init has said where it is (so that its container
     * process, known by then, is taken down with us rather than left at its exec fifo). */
    struct serr oe = { 0 };
    int outputs = open_outputs(&oe);
    while (!l->created && !l->eof)
      launch_feed(l);
    while (waitpid(l->init_pid, &st, 0) < 0 && errno == EINTR)
      ;
    if (!l->created) {
      if (!l->errline)
        fail_msg(e, "init", 0, "berth-init exited (status %d) without a report", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
      return -1;
    }
    if (outputs) {
      *e = oe;
      return -1;
    }
  }
  if (S.terminal && launch_recv_master(l, e))
    return -1;
  S.oom_known = S.oom_dir && oom_read(&oom) == 0;
  S.oom_base = S.oom_known ? oom : 0;
  oom_watch();
  if (S.runtime && open_outputs(e))
    return -1;
  if (!(S.ctr = task_from_launch(l, NULL)))
    return fail_msg(e, "init", ENOMEM, "out of memory");
  task_watch(S.ctr);
  ev_watch(&S.sig, EPOLLIN);
  if (S.runtime) {
    launch_free(l); /* done: the runtime has exited, `start` is a control request */
    /* The runtime's own helpers (runc's nsexec stages) fell to us when it exited: reap them now,
     * so they do not show in the container's pids until the loop would have. */
    reap_children();
  } else {
    ctrl_launch_watch(l);
  }
  return 0;
}

int main(int argc, char **argv)
{
  struct serr e = { 0 };
  /* runc's --version shape, which berthd parses for /version's Components as dockerd parses runc's. */
  if (argc == 2 && !strcmp(argv[1], "--version")) {
    printf("berth-shim version %s\ncommit: %s\n", BERTH_VERSION, BERTH_GIT_COMMIT);
    return 0;
  }
  if (parse_args(argc, argv, &e)) {
    report_error(&e);
    return 2;
  }
  S.ctrl.fd = S.sig.fd = S.tick.fd = -1;
  pid_t p = fork();
  if (p < 0) {
    fail_sys(&e, "fork", NULL);
    report_error(&e);
    return 1;
  }
  if (p > 0)
    _exit(0); /* the launcher waits for the line, not for us */
  /* Our own session: the launcher's terminal and process group can come and go. Subreaper:
   * whatever the container leaves behind is ours to reap, not init's. */
  setsid();
  S.pid = getpid();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    fail_sys(&e, "subreaper", NULL);
    report_error(&e);
    return 1;
  }
  if (chdir("/") < 0 || setup_loop(&e)) {
    if (!e.step)
      fail_sys(&e, "chdir", "/");
    report_error(&e);
    return 1;
  }
  struct launch *l = launch_new();
  if (!l) {
    fail_msg(&e, "init", ENOMEM, "out of memory");
    report_error(&e);
    return 1;
  }
  if (start_container(l, &e)) {
    /* Undo first, report last: whoever reads the error may look at DIR at once, and must find
     * neither our socket nor our pid file (nor a container of ours) there. */
    /* The container process is our child (CLONE_PARENT, or ours once the runtime exited): take it down with us. */
    if (l->pid > 0 && !S.ctr) {
      kill(l->pid, SIGKILL);
      waitpid(l->pid, NULL, 0);
    }
    if (S.runtime)
      runtime_delete(); /* its state, and the cgroups it made */
    if (S.ctrl.fd >= 0)
      ctrl_unlink();
    unlink(S.pid_path);
    if (l->errline) {
      write_all(1, l->errline, strlen(l->errline));
      write_all(1, "\n", 1);
    } else {
      report_error(&e);
    }
    launch_free(l);
    return 1;
  }
  char b[128 + sizeof S.phases];
  int n = snprintf(b, sizeof b, "{\"type\":\"ready\",\"shim_pid\":%d,\"pid\":%d,\"spawn_ns\":%lld,\"phases\":{%s}}\n",
                   (int)S.pid, (int)S.ctr->pid, (long long)S.spawn_ns, S.phases);
  if (write_all(1, b, (size_t)n) < 0 && errno == EPIPE) {
    /* Nobody reads the report: whoever launched us is gone (berthd killed mid-create), so no
     * record will ever name this task. Take the container down rather than leave an orphan. */
    kill(S.ctr->pid, SIGKILL);
    waitpid(S.ctr->pid, NULL, 0);
    if (S.runtime)
      runtime_delete();
    ctrl_unlink();
    unlink(S.pid_path);
    return 1;
  }
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2)
      close(null);
  }
  for (;;) {
    loop_run_once();
    shim_maybe_exit();
  }
}
