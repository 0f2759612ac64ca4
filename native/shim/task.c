/* task.c: the stdio of the container and of each exec: output to the log and to attached
 * clients, stdin from them, and the drain after the process exits. */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* One read buffer for every stream: output is handed on before the next read. */
static char rbuf[16384];

static void deliver(struct stream *s, const char *p, size_t n)
{
  if (s->t == S.ctr)
    log_feed(s, p, n);
  client_broadcast(s->t, s->kind, p, n);
}

static void stream_close(struct stream *s)
{
  if (s->ev.fd < 0)
    return;
  if (s->t == S.ctr)
    log_flush(s);
  ev_close(&s->ev);
}

/* Reads at most `rounds` buffers (fairness between streams); returns 1 at EOF. A pty master
 * answers EIO once every slave fd is closed: that is its EOF. */
static int stream_read(struct stream *s, int rounds)
{
  while (rounds-- > 0) {
    ssize_t r = read(s->ev.fd, rbuf, sizeof rbuf);
    if (r > 0) {
      deliver(s, rbuf, (size_t)r);
      continue;
    }
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && errno == EAGAIN)
      return 0;
    return 1;
  }
  return 0;
}

static void on_out(struct ev *ev, uint32_t events)
{
  struct stream *s = container_of(ev, struct stream, ev);
  (void)events;
  if (stream_read(s, 4)) {
    stream_close(s);
    task_check_drain(s->t, mono_ms());
  }
}

static void flush_in(struct task *t);

static void on_in(struct ev *ev, uint32_t events)
{
  (void)events;
  flush_in(container_of(ev, struct task, in));
}

static void refresh_writers(struct task *t)
{
  for (struct client *c = S.clients; c; c = c->next)
    if (c->t == t)
      client_update(c);
}

static void drop_in(struct task *t)
{
  ev_close(&t->in);
  free(t->inbuf);
  t->inbuf = NULL;
  t->inlen = 0;
}

static void flush_in(struct task *t)
{
  while (t->inlen > 0) {
    ssize_t w = write(t->in.fd, t->inbuf, t->inlen);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN) {
      ev_watch(&t->in, EPOLLOUT);
      return;
    }
    if (w <= 0) {
      drop_in(t); /* the reader is gone (EPIPE): nothing more can be delivered */
      break;
    }
    t->inlen -= (size_t)w;
    memmove(t->inbuf, t->inbuf + w, t->inlen);
  }
  free(t->inbuf);
  t->inbuf = NULL;
  ev_watch(&t->in, 0);
  if (t->close_in_pending)
    task_close_stdin(t);
  refresh_writers(t);
}

void task_stdin(struct task *t, const char *p, size_t n)
{
  if (t->in.fd < 0 || n == 0)
    return;
  if (t->inlen == 0) {
    ssize_t w;
    do
      w = write(t->in.fd, p, n);
    while (w < 0 && errno == EINTR);
    if (w < 0 && errno != EAGAIN) {
      drop_in(t);
      return;
    }
    if (w > 0) {
      p += w;
      n -= (size_t)w;
    }
    if (n == 0)
      return;
  }
  /* The container reads slower than clients write: keep the rest and stop reading from
   * the clients that feed it until it is taken, so this buffer stays bounded. */
  char *b = realloc(t->inbuf, t->inlen + n);
  if (!b)
    return;
  memcpy(b + t->inlen, p, n);
  t->inbuf = b;
  t->inlen += n;
  ev_watch(&t->in, EPOLLOUT);
  refresh_writers(t);
}

int task_close_stdin(struct task *t)
{
  if (t->inlen > 0) {
    t->close_in_pending = 1;
    return 0;
  }
  t->close_in_pending = 0;
  if (t->in.fd < 0)
    return 0;
  if (t->terminal) {
    /* A pty has no half-close: the line discipline's EOF character is what a reader of the
     * slave sees as end of input (in canonical mode, at the start of a line). */
    struct termios tio;
    char eof = tcgetattr(t->in.fd, &tio) == 0 && tio.c_cc[VEOF] ? (char)tio.c_cc[VEOF] : 4;
    return write(t->in.fd, &eof, 1) == 1 ? 0 : -1;
  }
  drop_in(t);
  return 0;
}

struct task *task_from_launch(struct launch *l, const char *id)
{
  struct task *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  t->id = id ? strdup(id) : NULL;
  t->pid = l->pid;
  t->terminal = l->terminal;
  t->has_stdin = l->has_stdin;
  t->started = l->created_at;
  t->in.fd = t->pty = -1;
  t->in.fn = on_in;
  for (int i = 0; i < 2; i++) {
    t->out[i].ev.fd = -1;
    t->out[i].ev.fn = on_out;
    t->out[i].kind = i + 1;
    t->out[i].t = t;
  }
  if (l->terminal) {
    /* Separate fds for the same pty, so each can sit in the epoll set with its own interest. */
    t->pty = l->master;
    l->master = -1;
    t->out[0].ev.fd = fcntl(t->pty, F_DUPFD_CLOEXEC, 3);
    if (l->has_stdin)
      t->in.fd = fcntl(t->pty, F_DUPFD_CLOEXEC, 3);
  } else {
    t->in.fd = l->fds[0];
    t->out[0].ev.fd = l->fds[1];
    t->out[1].ev.fd = l->fds[2];
    l->fds[0] = l->fds[1] = l->fds[2] = -1;
  }
  return t;
}

void task_watch(struct task *t)
{
  for (int i = 0; i < 2; i++)
    ev_watch(&t->out[i].ev, EPOLLIN);
}

void task_exited(struct task *t, int status)
{
  t->exited = 1;
  t->status = status;
  clock_gettime(CLOCK_REALTIME, &t->finished);
  t->drain_deadline = mono_ms() + DRAIN_MS;
  if (t != S.ctr)
    ctrl_answer_waiters(t);
  tick_need();
  task_check_drain(t, mono_ms());
}

/* The process is gone: its output is complete at EOF of every stream, or after DRAIN_MS
 * (a leftover process that inherited the fds must not keep the exit from being reported). */
void task_check_drain(struct task *t, int64_t now)
{
  if (!t->exited || t->drained)
    return;
  int open = t->out[0].ev.fd >= 0 || t->out[1].ev.fd >= 0;
  if (open && now < t->drain_deadline)
    return;
  for (int i = 0; i < 2; i++)
    if (t->out[i].ev.fd >= 0) {
      stream_read(&t->out[i], 64);
      stream_close(&t->out[i]);
    }
  t->drained = 1;
  drop_in(t);
  if (t->pty >= 0)
    close(t->pty);
  t->pty = -1;
  if (t == S.ctr)
    shim_finish();
  else
    client_close_stream(t);
}

struct task *task_by_pid(pid_t pid)
{
  if (S.ctr && S.ctr->pid == pid && !S.ctr->exited)
    return S.ctr;
  for (struct task *t = S.execs; t; t = t->next)
    if (t->pid == pid && !t->exited)
      return t;
  return NULL;
}

struct task *exec_by_id(const char *id)
{
  for (struct task *t = S.execs; t; t = t->next)
    if (!strcmp(t->id, id))
      return t;
  return NULL;
}

int task_exit_code(const struct task *t, int *sig)
{
  *sig = 0;
  if (WIFSIGNALED(t->status)) {
    *sig = WTERMSIG(t->status);
    return 128 + *sig;
  }
  return WEXITSTATUS(t->status);
}
