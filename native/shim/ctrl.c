/* ctrl.c: the control socket (`--socket`, default DIR/shim.sock) and its requests (docs/shim.md "Control socket"). */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static void on_accept(struct ev *ev, uint32_t events)
{
  (void)events;
  for (int i = 0; i < 16; i++) {
    int fd = accept4(ev->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
      return;
    client_new(fd);
  }
}

/* Before exiting: connections still in the backlog are taken, so their requests get answered. */
void ctrl_accept_pending(void)
{
  if (S.ctrl.fd >= 0)
    on_accept(&S.ctrl, EPOLLIN);
}

int ctrl_listen(struct serr *e)
{
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  if (strlen(S.sock_path) >= sizeof a.sun_path)
    return fail_msg(e, "socket", ENAMETOOLONG, "socket `%s`: %s", S.sock_path, strerror(ENAMETOOLONG));
  strcpy(a.sun_path, S.sock_path);
  unlink(S.sock_path); /* a previous shim's for this task dir, which is gone: the caller made a new task */
  S.ctrl.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (S.ctrl.fd < 0)
    return fail_sys(e, "socket", S.sock_path);
  if (bind(S.ctrl.fd, (struct sockaddr *)&a, sizeof a) < 0)
    return fail_sys(e, "socket", S.sock_path);
  struct stat st;
  if (chmod(S.sock_path, 0600) < 0 || listen(S.ctrl.fd, 64) < 0 || stat(S.sock_path, &st) < 0) {
    fail_sys(e, "socket", S.sock_path);
    unlink(S.sock_path);
    return -1;
  }
  S.sock_dev = st.st_dev;
  S.sock_ino = st.st_ino;
  S.ctrl.fn = on_accept;
  ev_watch(&S.ctrl, EPOLLIN);
  return 0;
}

/* The socket's name is derived from the task dir, so the next task of the same container gets
 * the same path: after a restart its shim may have bound it while we still drain (up to
 * FINISH_MS). Removing that file would leave the new task unreachable. */
void ctrl_unlink(void)
{
  struct stat st;
  if (stat(S.sock_path, &st) == 0 && st.st_dev == S.sock_dev && st.st_ino == S.sock_ino)
    unlink(S.sock_path);
}

static void reply_err(struct client *c, const char *msg)
{
  char b[1200];
  size_t n = (size_t)snprintf(b, sizeof b, "{\"ok\":false,\"error\":\"");
  n = json_str(b, sizeof b - 4, n, msg, strlen(msg));
  memcpy(b + n, "\"}\n", 3);
  client_send(c, b, n + 3);
}

static void reply_ok(struct client *c)
{
  static const char ok[] = "{\"ok\":true}\n";
  client_send(c, ok, sizeof ok - 1);
}

size_t exit_object(char *b, size_t cap, const struct task *t)
{
  char st[48], fin[48];
  int sig, code = task_exit_code(t, &sig);
  fmt_time(st, sizeof st, &t->started);
  fmt_time(fin, sizeof fin, &t->finished);
  int n = snprintf(b, cap,
                   "{\"exit_code\":%d,\"signal\":%d,\"oom_killed\":%s,\"started_at\":\"%s\",\"finished_at\":\"%s\","
                   "\"log_dropped\":%llu,\"exec_ns\":%lld}",
                   code, sig, t->oom_killed ? "true" : "false", st, fin, t == S.ctr ? S.log_dropped : 0ULL,
                   t == S.ctr ? (long long)S.exec_ns : 0LL);
  return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

/* The container's exit is final once exit.json is written (OOM known); an exec's at reaping. */
static int exit_final(const struct task *t)
{
  return t == S.ctr ? S.finishing : t->exited;
}

static void reply_exit(struct client *c, const struct task *t)
{
  char b[512];
  size_t n = (size_t)snprintf(b, sizeof b, "{\"ok\":true,\"exit\":");
  n += exit_object(b + n, sizeof b - n - 3, t);
  memcpy(b + n, "}\n", 2);
  client_send(c, b, n + 2);
}

void ctrl_answer_waiters(struct task *t)
{
  for (struct client *c = S.clients; c; c = c->next) {
    if (c->dead || c->mode != C_WAIT || c->t != t)
      continue;
    reply_exit(c, t);
    c->mode = C_REQ;
    c->t = NULL;
    c->events = 0;
    client_update(c);
    client_process_lines(c); /* requests pipelined behind the wait */
  }
}

static void op_state(struct client *c, struct task *t)
{
  char b[768];
  int final = exit_final(t);
  size_t n = (size_t)snprintf(b, sizeof b, "{\"ok\":true,\"pid\":%d,\"shim_pid\":%d,\"status\":\"%s\"", (int)t->pid,
                              (int)S.pid, final ? "exited" : "running");
  if (final) {
    n += (size_t)snprintf(b + n, sizeof b - n, ",\"exit\":");
    n += exit_object(b + n, sizeof b - n - 64, t);
  }
  n += (size_t)snprintf(b + n, sizeof b - n, ",\"log_dropped\":%llu,\"exec_ns\":%lld}\n", S.log_dropped,
                        t == S.ctr ? (long long)S.exec_ns : 0LL);
  client_send(c, b, n);
}

static void op_kill(struct client *c, struct task *t, const struct jval *v, int n)
{
  long long sig;
  if (!json_get_num(v, n, "signal", &sig) || sig < 0 || sig >= NSIG)
    return reply_err(c, "kill: a signal number is required");
  /* After reaping, the pid may already belong to someone else: never signal it then. */
  if (!t->exited && kill(t->pid, (int)sig) < 0 && errno != ESRCH) {
    char m[128];
    snprintf(m, sizeof m, "kill %d: %s", (int)t->pid, strerror(errno));
    return reply_err(c, m);
  }
  reply_ok(c);
}

static void op_resize(struct client *c, struct task *t, const struct jval *v, int n)
{
  long long rows, cols;
  if (!json_get_num(v, n, "rows", &rows) || !json_get_num(v, n, "cols", &cols) || rows < 0 || cols < 0 ||
      rows > 65535 || cols > 65535)
    return reply_err(c, "resize: rows and cols are required");
  if (t->pty < 0)
    return reply_err(c, t->terminal ? "resize: the process has exited" : "resize: the process has no terminal");
  struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
  if (ioctl(t->pty, TIOCSWINSZ, &ws) < 0) {
    char m[128];
    snprintf(m, sizeof m, "resize: %s", strerror(errno));
    return reply_err(c, m);
  }
  reply_ok(c);
}

static void op_attach(struct client *c, struct task *t, const struct jval *v, int n)
{
  if (t->drained)
    return reply_err(c, "attach: the process has exited");
  c->mode = C_STREAM;
  c->t = t;
  c->want_in = json_get_bool(v, n, "stdin", 0);
  c->want_out = json_get_bool(v, n, "stdout", 1);
  c->want_err = json_get_bool(v, n, "stderr", 1);
  c->raw = t->terminal;
  reply_ok(c);
  client_update(c);
}

static struct launch *launch_by_exec(const char *id)
{
  for (struct launch *l = S.launches; l; l = l->next)
    if (l->exec_id && !l->done && !strcmp(l->exec_id, id))
      return l;
  return NULL;
}

static void on_launch(struct ev *ev, uint32_t events);

void ctrl_launch_watch(struct launch *l)
{
  l->ev.fn = on_launch;
  set_nonblock(l->ev.fd);
  l->next = S.launches;
  S.launches = l;
  ev_watch(&l->ev, EPOLLIN);
}

static void on_launch(struct ev *ev, uint32_t events)
{
  struct launch *l = container_of(ev, struct launch, ev);
  (void)events;
  launch_feed(l);
  if (l->exec_id && !l->done && (l->created || l->eof)) {
    l->done = 1;
    ctrl_exec_done(l);
  }
  if (!l->eof)
    return;
  /* The sync fd is close-on-exec in the container process: its EOF is the execve. */
  if (!l->exec_id && S.ctr)
    clock_gettime(CLOCK_REALTIME, &S.ctr->started);
  for (struct launch **pp = &S.launches; *pp; pp = &(*pp)->next)
    if (*pp == l) {
      *pp = l->next;
      break;
    }
  launch_free(l);
}

static void op_exec(struct client *c, const char *id, const struct jval *v, int n)
{
  struct serr e = { 0 };
  const char *plan = json_get_str(v, n, "plan");
  const char *process = json_get_str(v, n, "process"); /* an OCI process.json, with a foreign runtime */
  char console[4096];
  if (!id || !*id || (S.runtime ? !process || !*process : !plan || !*plan))
    return reply_err(c, S.runtime ? "exec: exec and process are required" : "exec: exec and plan are required");
  if (exec_by_id(id) || launch_by_exec(id)) {
    char m[600];
    snprintf(m, sizeof m, "exec %.500s: already exists", id);
    return reply_err(c, m);
  }
  if (S.ctr->exited || S.finishing)
    return reply_err(c, "exec: the container is not running");
  struct launch *l = launch_new();
  if (!l)
    return reply_err(c, "exec: out of memory");
  l->terminal = json_get_bool(v, n, "terminal", 0);
  l->has_stdin = json_get_bool(v, n, "stdin", 0);
  l->exec_id = strdup(id);
  if (l->terminal && S.runtime) {
    const char *sock = json_get_str(v, n, "console");
    if (!sock || !*sock || strlen(sock) >= sizeof console)
      fail_msg(&e, "exec", EINVAL, "exec: a terminal needs a console socket path");
    else
      snprintf(console, sizeof console, "%s", sock);
  } else if (l->terminal) {
    plan_console_socket(plan, console, sizeof console, &e);
  }
  if (e.step || (l->terminal && !(l->console = strdup(console)))) {
    launch_free(l);
    return reply_err(c, e.step ? e.msg : "exec: out of memory");
  }
  if (S.runtime ? runtime_exec(l, process, &e) : launch_spawn(l, plan, &e)) {
    launch_free(l);
    return reply_err(c, e.msg);
  }
  l->client = c;
  c->launch = l;
  c->mode = C_EXEC_PENDING;
  client_update(c);
  if (!S.runtime)
    ctrl_launch_watch(l); /* a runtime's exec is followed by its exit (runtime_child_exited) */
}

/* A foreign runtime's `start`; berth-init's container is started through its exec fifo instead. */
static void op_start(struct client *c)
{
  char err[2400];
  if (!S.runtime)
    return reply_err(c, "start: this container is started through its exec fifo");
  if (S.ctr->exited)
    return reply_err(c, "start: the container has exited");
  if (runtime_start(err, sizeof err))
    return reply_err(c, err);
  clock_gettime(CLOCK_REALTIME, &S.ctr->started);
  reap_children(); /* what the runtime left behind, before anyone counts the container's pids */
  reply_ok(c);
}

void ctrl_exec_done(struct launch *l)
{
  struct client *c = l->client;
  struct serr e = { 0 };
  char m[1200];
  if (c) {
    c->launch = NULL;
    l->client = NULL;
  }
  if (!l->created || (l->terminal && launch_recv_master(l, &e))) {
    const char *msg = l->created ? e.msg : launch_error_message(l, m, sizeof m);
    if (l->created && !l->reaped && l->pid > 0)
      kill(l->pid, SIGKILL); /* set up, but we cannot hold its terminal: it must not run loose */
    launch_cleanup(l);
    if (c) {
      reply_err(c, msg);
      c->mode = C_REQ;
      client_update(c);
      client_process_lines(c);
    }
    return;
  }
  struct task *t = task_from_launch(l, l->exec_id);
  if (!t) {
    kill(l->pid, SIGKILL);
    if (c)
      reply_err(c, "exec: out of memory");
    return;
  }
  t->next = S.execs;
  S.execs = t;
  if (c) {
    char b[64];
    int k = snprintf(b, sizeof b, "{\"ok\":true,\"pid\":%d}\n", (int)t->pid);
    client_send(c, b, (size_t)k);
    c->mode = C_STREAM;
    c->t = t;
    c->want_in = t->has_stdin;
    c->want_out = c->want_err = 1;
    c->raw = t->terminal;
    client_update(c);
    client_process_lines(c); /* stdin sent right behind the request */
  }
  task_watch(t);
  if (l->reaped)
    task_exited(t, l->status);
}

void ctrl_request(struct client *c, char *line)
{
  struct jval v[16];
  int n = json_parse_flat(line, v, 16);
  const char *op = n >= 0 ? json_get_str(v, n, "op") : NULL;
  if (!op)
    return reply_err(c, "invalid request: one flat JSON object with \"op\" per line expected");
  const char *exec = json_get_str(v, n, "exec");
  if (!strcmp(op, "exec"))
    return op_exec(c, exec, v, n);
  struct task *t = S.ctr;
  if (exec && !(t = exec_by_id(exec))) {
    char m[600];
    snprintf(m, sizeof m, "no such exec: %.500s", exec);
    return reply_err(c, m);
  }
  if (!strcmp(op, "events") && !exec) {
    /* The kills so far, then a line per new one, until the shim exits (docs/shim.md). */
    c->mode = C_EVENTS;
    oom_send(c, oom_kills(), 0);
    return client_update(c);
  }
  if (!strcmp(op, "state"))
    return op_state(c, t);
  if (!strcmp(op, "start") && !exec)
    return op_start(c);
  if (!strcmp(op, "kill"))
    return op_kill(c, t, v, n);
  if (!strcmp(op, "wait")) {
    if (exit_final(t))
      return reply_exit(c, t);
    c->mode = C_WAIT;
    c->t = t;
    c->events = t == S.ctr && json_get_bool(v, n, "events", 0);
    if (c->events)
      log_drops_notify(c); /* a waiter that reconnects learns the count at once */
    return client_update(c);
  }
  if (!strcmp(op, "attach"))
    return op_attach(c, t, v, n);
  if (!strcmp(op, "resize"))
    return op_resize(c, t, v, n);
  if (!strcmp(op, "close-stdin")) {
    if (task_close_stdin(t) < 0)
      return reply_err(c, "close-stdin: cannot write to the terminal");
    return reply_ok(c);
  }
  char m[200];
  snprintf(m, sizeof m, "unknown op: %.100s", op);
  reply_err(c, m);
}
