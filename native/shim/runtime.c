/* runtime.c: a runc-compatible runtime (runc, crun) in place of berth-init (docs/shim.md
 * "Foreign runtimes"). The shim runs its CLI: `create` (stdio through the shim, the pty master
 * on the console socket), `start`, `exec --detach`, `delete --force`; signals go straight to
 * the process, as `runc kill` would. The runtime exits after each command, so the container's
 * processes fall to the shim, the nearest child subreaper: it reaps them and records how they
 * ended exactly as for berth-init. */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RT_ARGV_MAX 64

/* The runtime's argv up to its command: binary, runtimeArgs (global options, as dockerd's
 * wrapper script puts them), then its state root and an error log we can read back. */
static int rt_prefix(const char **argv, const char *log)
{
  int n = 0;
  argv[n++] = S.runtime;
  for (int i = 0; i < S.n_runtime_args && n < RT_ARGV_MAX - 24; i++)
    argv[n++] = S.runtime_args[i];
  argv[n++] = "--root";
  argv[n++] = S.runtime_root;
  argv[n++] = "--log";
  argv[n++] = log;
  argv[n++] = "--log-format";
  argv[n++] = "json";
  return n;
}

/* fork + exec with fds 0..2 (through high numbers, so none is overwritten before it is used)
 * and default signal state; the child's other fds are close-on-exec. */
static pid_t rt_spawn(const char *const *argv, int fd0, int fd1, int fd2)
{
  pid_t p = fork();
  if (p != 0)
    return p;
  sigset_t none;
  int src[3] = { fd0, fd1, fd2 }, hi[3];
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (int s = 1; s < NSIG; s++)
    signal(s, SIG_DFL);
  for (int i = 0; i < 3; i++)
    if ((hi[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 10)) < 0)
      _exit(127);
  for (int i = 0; i < 3; i++)
    if (dup2(hi[i], i) < 0)
      _exit(127);
  execvp(argv[0], (char *const *)argv);
  _exit(127);
}

/* The runtime's own words for a failure: the last error of its JSON log, else its exit status. */
static void rt_message(const char *log, int status, char *out, size_t cap)
{
  FILE *f = fopen(log, "re");
  char *line = NULL, last[2048] = "";
  size_t lcap = 0;
  if (f) {
    while (getline(&line, &lcap, f) > 0) {
      struct jval v[8];
      char copy[2048];
      snprintf(copy, sizeof copy, "%s", line);
      int n = json_parse_flat(copy, v, 8);
      const char *lvl = n > 0 ? json_get_str(v, n, "level") : NULL;
      const char *msg = n > 0 ? json_get_str(v, n, "msg") : NULL;
      if (msg && lvl && (!strcmp(lvl, "error") || !strcmp(lvl, "fatal")))
        snprintf(last, sizeof last, "%s", msg);
    }
    free(line);
    fclose(f);
  }
  if (last[0])
    snprintf(out, cap, "%s", last);
  else if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    snprintf(out, cap, "exec `%s`: not found or not executable", S.runtime);
  else
    snprintf(out, cap, "`%s` exited with status %d", S.runtime, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static int read_pid(const char *path)
{
  char b[32] = "";
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t r = read(fd, b, sizeof b - 1);
  close(fd);
  long v = r > 0 ? strtol(b, NULL, 10) : -1;
  return v > 0 ? (int)v : -1;
}

/* Run one command to its end (create, start, delete are short: the shim serves nothing meanwhile). */
static int rt_run(const char *const *argv, int fd0, int fd1, int fd2, int *status)
{
  pid_t p = rt_spawn(argv, fd0, fd1, fd2);
  if (p < 0)
    return -1;
  while (waitpid(p, status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return 0;
}

/* The stdio a process gets: pipes (ours kept in l->fds), or the console socket for a pty. */
static int rt_stdio(struct launch *l, int child[3], struct serr *e)
{
  int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0)
    return fail_sys(e, "runtime", "/dev/null");
  child[0] = child[1] = child[2] = null;
  if (l->terminal) {
    if (launch_listen_console(l, e) == 0)
      return 0;
    close(null);
    child[0] = child[1] = child[2] = -1;
    return -1;
  }
  if ((l->has_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
    for (int *p = (int[]){ in[0], in[1], out[0], out[1], err[0], err[1] }, i = 0; i < 6; i++)
      if (p[i] >= 0)
        close(p[i]);
    close(null);
    return fail_sys(e, "runtime", "pipe");
  }
  if (in[0] >= 0) {
    child[0] = in[0];
    l->fds[0] = in[1];
  }
  child[1] = out[1];
  child[2] = err[1];
  l->fds[1] = out[0];
  l->fds[2] = err[0];
  for (int i = 0; i < 3; i++)
    if (l->fds[i] >= 0)
      set_nonblock(l->fds[i]);
  return 0;
}

/* Close the child's ends (and the /dev/null they may share) once it has them. */
static void rt_close_child(int child[3])
{
  for (int i = 0; i < 3; i++) {
    if (child[i] < 0)
      continue;
    int fd = child[i];
    close(fd);
    for (int j = i; j < 3; j++)
      if (child[j] == fd)
        child[j] = -1;
  }
}

int runtime_create(struct launch *l, struct serr *e)
{
  char pidfile[4200], log[4200], msg[2048];
  const char *argv[RT_ARGV_MAX];
  int child[3] = { -1, -1, -1 }, st;
  snprintf(pidfile, sizeof pidfile, "%s/init.pid", S.dir);
  snprintf(log, sizeof log, "%s/runtime.log", S.dir);
  unlink(pidfile);
  unlink(log);
  if (S.terminal && !(l->console = strdup(S.console)))
    return fail_msg(e, "runtime", ENOMEM, "out of memory");
  if (rt_stdio(l, child, e))
    return -1;
  int n = rt_prefix(argv, log);
  argv[n++] = "create";
  argv[n++] = "--bundle";
  argv[n++] = S.bundle;
  argv[n++] = "--pid-file";
  argv[n++] = pidfile;
  if (S.terminal) {
    argv[n++] = "--console-socket";
    argv[n++] = S.console;
  }
  argv[n++] = S.id;
  argv[n] = NULL;
  l->spawned = mono_ms();
  int rc = rt_run(argv, child[0], child[1], child[2], &st);
  rt_close_child(child);
  if (rc < 0)
    return fail_sys(e, "runtime", S.runtime);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    rt_message(log, st, msg, sizeof msg);
    return fail_msg(e, "runtime", 0, "%s create: %s", S.runtime, msg);
  }
  l->pid = read_pid(pidfile);
  if (l->pid <= 0)
    return fail_msg(e, "runtime", EINVAL, "%s create: no pid in `%s`", S.runtime, pidfile);
  l->created = 1;
  clock_gettime(CLOCK_REALTIME, &l->created_at);
  return 0;
}

int runtime_start(char *err, size_t cap)
{
  char log[4200];
  const char *argv[RT_ARGV_MAX];
  int st, null = open("/dev/null", O_RDWR | O_CLOEXEC);
  snprintf(log, sizeof log, "%s/runtime.log", S.dir);
  unlink(log);
  int n = rt_prefix(argv, log);
  argv[n++] = "start";
  argv[n++] = S.id;
  argv[n] = NULL;
  int rc = rt_run(argv, null, null, null, &st);
  if (null >= 0)
    close(null);
  if (rc < 0) {
    snprintf(err, cap, "start: %s: %s", S.runtime, strerror(errno));
    return -1;
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    char msg[2048];
    rt_message(log, st, msg, sizeof msg);
    snprintf(err, cap, "%s start: %s", S.runtime, msg);
    return -1;
  }
  return 0;
}

void runtime_delete(void)
{
  char log[4200];
  const char *argv[RT_ARGV_MAX];
  int st, null = open("/dev/null", O_RDWR | O_CLOEXEC);
  snprintf(log, sizeof log, "%s/runtime.log", S.dir);
  int n = rt_prefix(argv, log);
  argv[n++] = "delete";
  argv[n++] = "--force";
  argv[n++] = S.id;
  argv[n] = NULL;
  rt_run(argv, null, null, null, &st); /* best effort: the lifecycle removes the cgroups and the dir anyway */
  if (null >= 0)
    close(null);
}

int runtime_exec(struct launch *l, const char *process, struct serr *e)
{
  const char *argv[RT_ARGV_MAX];
  int child[3] = { -1, -1, -1 };
  size_t plen = strlen(process);
  if (!(l->rt_pidfile = malloc(plen + 5)) || !(l->rt_log = malloc(plen + 5)))
    return fail_msg(e, "runtime", ENOMEM, "out of memory");
  sprintf(l->rt_pidfile, "%s.pid", process);
  sprintf(l->rt_log, "%s.log", process);
  unlink(l->rt_pidfile);
  unlink(l->rt_log);
  if (rt_stdio(l, child, e))
    return -1;
  int n = rt_prefix(argv, l->rt_log);
  argv[n++] = "exec";
  argv[n++] = "--detach";
  argv[n++] = "--pid-file";
  argv[n++] = l->rt_pidfile;
  argv[n++] = "--process";
  argv[n++] = process;
  if (l->terminal) {
    argv[n++] = "--console-socket";
    argv[n++] = l->console;
  }
  argv[n++] = S.id;
  argv[n] = NULL;
  l->spawned = mono_ms();
  l->init_pid = rt_spawn(argv, child[0], child[1], child[2]);
  rt_close_child(child);
  if (l->init_pid < 0)
    return fail_sys(e, "runtime", S.runtime);
  l->runtime = 1;
  l->next = S.launches;
  S.launches = l;
  return 0;
}

/* `runtime exec --detach` has exited: the exec exists (its pid in the pid file) or failed. */
int runtime_child_exited(pid_t pid, int status)
{
  struct launch **pp = &S.launches, *l;
  while ((l = *pp) && !(l->runtime && l->init_pid == pid && !l->done))
    pp = &l->next;
  if (!l)
    return 0;
  *pp = l->next;
  l->done = 1;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && (l->pid = read_pid(l->rt_pidfile)) > 0) {
    l->created = 1;
    clock_gettime(CLOCK_REALTIME, &l->created_at);
    launch_take_early(l); /* a process that was quicker than its runtime */
  } else {
    char msg[2048], b[2600];
    l->pid = 0;
    rt_message(l->rt_log, status, msg, sizeof msg);
    size_t k = (size_t)snprintf(b, sizeof b, "{\"type\":\"error\",\"step\":\"runtime\",\"errno\":0,\"message\":\"");
    k = json_str(b, sizeof b - 4, k, S.runtime, strlen(S.runtime));
    k = json_str(b, sizeof b - 4, k, " exec: ", 7);
    k = json_str(b, sizeof b - 4, k, msg, strlen(msg));
    memcpy(b + k, "\"}", 3);
    l->errline = strdup(b);
    l->failed = 1;
  }
  unlink(l->rt_pidfile);
  unlink(l->rt_log);
  ctrl_exec_done(l);
  launch_free(l);
  return 1;
}
