/* launch.c: runs `berth-init --detach PLAN` with the stdio it needs and a socketpair as the
 * sync fd, follows its messages (docs/plan.md "Messages"), and receives the pty master. */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYNC_LINE_MAX 65536

/* Children reaped before we knew whose they were (the pid message can arrive after a fast
 * process already exited); looked up when the launch learns its pid. */
static struct { pid_t pid; int status; int64_t at; } early[16];
static unsigned early_next;

static int listen_console(struct launch *l, struct serr *e)
{
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  if (strlen(l->console) >= sizeof a.sun_path)
    return fail_msg(e, "console", ENAMETOOLONG, "console `%s`: %s", l->console, strerror(ENAMETOOLONG));
  strcpy(a.sun_path, l->console);
  unlink(l->console);
  l->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (l->lfd < 0)
    return fail_sys(e, "console", l->console);
  if (bind(l->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(l->lfd, 1) < 0)
    return fail_sys(e, "console", l->console);
  return 0;
}

/* In the child: fds to 0..3 (through high numbers, so no source is overwritten first),
 * default signal state (a blocked or ignored signal would be inherited by the container). */
static void child_exec(const char *plan, int src[4])
{
  sigset_t none;
  int hi[4];
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (int s = 1; s < NSIG; s++)
    signal(s, SIG_DFL);
  for (int i = 0; i < 4; i++)
    if ((hi[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 10)) < 0)
      _exit(127);
  for (int i = 0; i < 4; i++)
    if (dup2(hi[i], i) < 0)
      _exit(127);
  setenv("_BERTH_SYNC_FD", "3", 1);
  execl(S.init, "berth-init", "--detach", plan, (char *)NULL);
  char b[4600], m[4400];
  int err = errno;
  snprintf(m, sizeof m, "exec `%s`: %s", S.init, strerror(err));
  size_t n = (size_t)snprintf(b, sizeof b, "{\"type\":\"error\",\"step\":\"spawn\",\"errno\":%d,\"message\":\"", err);
  n = json_str(b, sizeof b - 4, n, m, strlen(m));
  memcpy(b + n, "\"}\n", 3);
  write_all(3, b, n + 3);
  _exit(127);
}

struct launch *launch_new(void)
{
  struct launch *l = calloc(1, sizeof *l);
  if (!l)
    return NULL;
  l->ev.fd = l->lfd = l->master = -1;
  l->fds[0] = l->fds[1] = l->fds[2] = -1;
  return l;
}

int launch_spawn(struct launch *l, const char *plan, struct serr *e)
{
  int sv[2], in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, null = -1, rc = -1;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return fail_sys(e, "spawn", "socketpair");
  l->ev.fd = sv[0];
  null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) {
    fail_sys(e, "spawn", "/dev/null");
    goto out;
  }
  if (l->terminal) {
    if (listen_console(l, e))
      goto out;
  } else if ((l->has_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
    fail_sys(e, "spawn", "pipe");
    goto out;
  }
  l->spawned = mono_ms();
  int src[4] = { in[0] >= 0 ? in[0] : null, out[1] >= 0 ? out[1] : null, err[1] >= 0 ? err[1] : null, sv[1] };
  l->init_pid = fork();
  if (l->init_pid < 0) {
    fail_sys(e, "spawn", S.init);
    goto out;
  }
  if (l->init_pid == 0)
    child_exec(plan, src);
  l->fds[0] = in[1];
  l->fds[1] = out[0];
  l->fds[2] = err[0];
  in[1] = out[0] = err[0] = -1;
  for (int i = 0; i < 3; i++)
    if (l->fds[i] >= 0)
      set_nonblock(l->fds[i]);
  rc = 0;
out:
  for (int *p = (int[]){ in[0], in[1], out[0], out[1], err[0], err[1], sv[1], null }, i = 0; i < 8; i++)
    if (p[i] >= 0)
      close(p[i]);
  return rc;
}

static void take_early(struct launch *l)
{
  /* Only children reaped since this launch began: an older entry is another process. */
  for (unsigned i = 0; i < sizeof early / sizeof early[0]; i++)
    if (l->pid > 0 && early[i].pid == l->pid && early[i].at >= l->spawned) {
      l->reaped = 1;
      l->status = early[i].status;
      early[i].pid = 0;
    }
}

void launch_child_exited(pid_t pid, int status)
{
  for (struct launch *l = S.launches; l; l = l->next)
    if (l->pid == pid && !l->created) {
      l->reaped = 1;
      l->status = status;
      return;
    }
  unsigned i = early_next++ % (sizeof early / sizeof early[0]);
  early[i].pid = pid;
  early[i].status = status;
  early[i].at = mono_ms();
}

static void on_line(struct launch *l, char *line)
{
  struct jval v[8];
  char *copy = strstr(line, "\"error\"") ? strdup(line) : NULL;
  int n = json_parse_flat(line, v, 8);
  const char *type = n > 0 ? json_get_str(v, n, "type") : NULL;
  long long pid;
  if (!type) {
    free(copy);
    return;
  }
  if (!strcmp(type, "pid") && json_get_num(v, n, "pid", &pid)) {
    l->pid = (pid_t)pid;
    take_early(l);
  } else if (!strcmp(type, "phase") && json_get_num(v, n, "ns", &pid)) {
    launch_phase(l, json_get_str(v, n, "name"), pid);
  } else if (!strcmp(type, "hook")) {
    /* The engine uses no OCI hooks: the stop is answered at once. */
    write_all(l->ev.fd, "\n", 1);
  } else if (!strcmp(type, "created")) {
    l->created = 1;
    clock_gettime(CLOCK_REALTIME, &l->created_at);
  } else if (!strcmp(type, "error") && !l->created && !l->errline && copy) {
    l->errline = copy;
    copy = NULL;
    l->failed = 1;
  }
  free(copy);
}

void launch_feed(struct launch *l)
{
  if (l->cap - l->n < 4096 && l->cap < SYNC_LINE_MAX) {
    size_t cap = l->cap ? l->cap * 2 : 4096;
    char *b = realloc(l->buf, cap);
    if (b) {
      l->buf = b;
      l->cap = cap;
    }
  }
  if (l->n + 1 >= l->cap) {
    l->n = 0; /* a line longer than any berth-init writes: drop it */
    if (!l->cap)
      return;
  }
  ssize_t r = read(l->ev.fd, l->buf + l->n, l->cap - l->n - 1);
  if (r < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (r <= 0) {
    l->eof = 1;
    return;
  }
  l->n += (size_t)r;
  char *start = l->buf, *nl;
  while ((nl = memchr(start, '\n', l->n - (size_t)(start - l->buf)))) {
    *nl = 0;
    on_line(l, start);
    start = nl + 1;
  }
  l->n -= (size_t)(start - l->buf);
  memmove(l->buf, start, l->n);
}

int launch_recv_master(struct launch *l, struct serr *e)
{
  /* berth-init connected before cloning and sent the master before `created`, so both the
   * connection and the message are already queued: nothing here waits. */
  int c = accept4(l->lfd, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0)
    return fail_sys(e, "console", l->console);
  char byte;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  ssize_t r;
  do
    r = recvmsg(c, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  int err = errno;
  close(c);
  struct cmsghdr *cm = r > 0 ? CMSG_FIRSTHDR(&m) : NULL;
  if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int))) {
    errno = r < 0 ? err : EPROTO;
    return fail_sys(e, "console", l->console);
  }
  memcpy(&l->master, CMSG_DATA(cm), sizeof(int));
  set_nonblock(l->master);
  close(l->lfd);
  l->lfd = -1;
  unlink(l->console);
  return 0;
}

void launch_cleanup(struct launch *l)
{
  for (int i = 0; i < 3; i++)
    if (l->fds[i] >= 0) {
      close(l->fds[i]);
      l->fds[i] = -1;
    }
  if (l->master >= 0)
    close(l->master);
  l->master = -1;
  if (l->lfd >= 0) {
    close(l->lfd);
    l->lfd = -1;
    if (l->console)
      unlink(l->console);
  }
}

void launch_free(struct launch *l)
{
  launch_cleanup(l);
  ev_close(&l->ev);
  free(l->buf);
  free(l->errline);
  free(l->console);
  free(l->exec_id);
  free(l->rt_pidfile);
  free(l->rt_log);
  free(l);
}

const char *launch_error_message(struct launch *l, char *buf, size_t cap)
{
  struct jval v[8];
  if (l->errline) {
    snprintf(buf, cap, "%s", l->errline);
    int n = json_parse_flat(buf, v, 8);
    const char *m = n > 0 ? json_get_str(v, n, "message") : NULL;
    if (m)
      return m;
  }
  return "berth-init exited without a report";
}

static int hexval_pair(const char *p)
{
  int v = 0;
  for (int i = 0; i < 2; i++) {
    char c = p[i];
    int h = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (h < 0)
      return -1;
    v = v << 4 | h;
  }
  return v;
}

/* The `console-socket` record's path: the caller chose it when it built the plan. */
int plan_console_socket(const char *plan, char *out, size_t cap, struct serr *e)
{
  FILE *f = fopen(plan, "re");
  char *line = NULL;
  size_t lcap = 0;
  ssize_t len;
  int found = 0;
  if (!f)
    return fail_sys(e, "plan", plan);
  while (!found && (len = getline(&line, &lcap, f)) > 0) {
    if (strncmp(line, "console-socket ", 15))
      continue;
    size_t n = 0;
    for (char *p = line + 15; *p && *p != '\n' && *p != ' ' && n + 1 < cap; p++) {
      if (*p == '%' && p[1] && p[2] && hexval_pair(p + 1) >= 0) {
        out[n++] = (char)hexval_pair(p + 1);
        p += 2;
      } else if (*p != '%') {
        out[n++] = *p;
      }
    }
    out[n] = 0;
    found = n > 0;
  }
  free(line);
  fclose(f);
  if (!found)
    return fail_msg(e, "plan", EINVAL, "plan `%s`: a terminal needs a console-socket record", plan);
  return 0;
}

/* For runtime.c, which starts processes through a runc-compatible runtime instead. */
void launch_take_early(struct launch *l)
{
  take_early(l);
}

int launch_listen_console(struct launch *l, struct serr *e)
{
  return listen_console(l, e);
}
