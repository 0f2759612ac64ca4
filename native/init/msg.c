/* msg.c: the JSON lines berth-init writes on the sync fd, and the error struct helpers. */
#include "init.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

static int sync_fd = -1;

void msg_set_fd(int fd) { sync_fd = fd; }
int msg_fd(void) { return sync_fd; }

int fail_sys(struct berr *e, const char *step, const char *path)
{
  int err = errno;
  if (path)
    return fail_msg(e, step, path, err, "%s `%s`: %s", step, path, strerror(err));
  return fail_msg(e, step, NULL, err, "%s: %s", step, strerror(err));
}

int fail_msg(struct berr *e, const char *step, const char *path, int errnum, const char *fmt, ...)
{
  va_list ap;
  e->step = step;
  e->errnum = errnum;
  snprintf(e->path, sizeof e->path, "%s", path ? path : "");
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return -1;
}

/* Append `s` as a JSON string body. Bytes >= 0x80 pass through (paths are bytes; the
 * reader decodes UTF-8 and replaces what is invalid). */
static size_t json_str(char *out, size_t cap, size_t n, const char *s)
{
  for (; *s && n + 7 < cap; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      out[n++] = '\\';
      out[n++] = (char)ch;
    } else if (ch == '\n') {
      out[n++] = '\\'; out[n++] = 'n';
    } else if (ch == '\t') {
      out[n++] = '\\'; out[n++] = 't';
    } else if (ch < 0x20 || ch == 0x7f) {
      n += (size_t)snprintf(out + n, cap - n, "\\u%04x", ch);
    } else {
      out[n++] = (char)ch;
    }
  }
  return n;
}

static ssize_t write_nosigpipe(int fd, const char *b, size_t n)
{
  sigset_t pipe, old;
  struct timespec zero = { 0, 0 };
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  sigprocmask(SIG_BLOCK, &pipe, &old);
  ssize_t w = write(fd, b, n);
  int err = errno;
  if (w < 0 && err == EPIPE)
    sigtimedwait(&pipe, NULL, &zero);
  sigprocmask(SIG_SETMASK, &old, NULL);
  errno = err;
  return w;
}

/* One write per line, so lines from the bootstrap and the container process never interleave. */
static void emit(const char *line, size_t n)
{
  int saved = errno;
  if (sync_fd < 0)
    goto out;
  while (n > 0) {
    /* The caller may stop reading after `created`; a late exec error must not raise SIGPIPE. */
    ssize_t w = send(sync_fd, line, n, MSG_NOSIGNAL);
    if (w < 0 && errno == ENOTSOCK)
      w = write_nosigpipe(sync_fd, line, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break;
    line += w;
    n -= (size_t)w;
  }
out:
  errno = saved;
}

void msg_pid(pid_t pid)
{
  char b[64];
  int n = snprintf(b, sizeof b, "{\"type\":\"pid\",\"pid\":%d}\n", (int)pid);
  emit(b, (size_t)n);
}

void msg_phase(const char *name)
{
  struct timespec ts;
  char b[128];
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int n = snprintf(b, sizeof b, "{\"type\":\"phase\",\"name\":\"%s\",\"ns\":%lld}\n", name,
                   (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
  emit(b, (size_t)n);
}

void msg_hook(const char *name)
{
  char b[4096 + 64];
  size_t n = (size_t)snprintf(b, sizeof b, "{\"type\":\"hook\",\"name\":\"");
  n = json_str(b, sizeof b - 4, n, name);
  n += (size_t)snprintf(b + n, sizeof b - n, "\"}\n");
  emit(b, n);
}

void msg_created(void)
{
  static const char b[] = "{\"type\":\"created\"}\n";
  emit(b, sizeof b - 1);
}

void msg_error(const struct berr *e)
{
  static char b[16384];
  size_t n = (size_t)snprintf(b, sizeof b, "{\"type\":\"error\",\"step\":\"");
  n = json_str(b, sizeof b - 64, n, e->step ? e->step : "init");
  n += (size_t)snprintf(b + n, sizeof b - n, "\",\"path\":\"");
  n = json_str(b, sizeof b - 64, n, e->path);
  n += (size_t)snprintf(b + n, sizeof b - n, "\",\"errno\":%d,\"message\":\"", e->errnum);
  n = json_str(b, sizeof b - 8, n, e->msg);
  n += (size_t)snprintf(b + n, sizeof b - n, "\"}\n");
  if (sync_fd < 0) {
    /* No sync fd (run by hand): the error still has to go somewhere. */
    ssize_t w = write(2, b, n);
    (void)w;
    return;
  }
  emit(b, n);
}

/* The caller answers a hook with one line; read byte by byte so nothing after it is consumed. */
int msg_wait_line(struct berr *e)
{
  char ch;
  if (sync_fd < 0)
    return 0;
  for (;;) {
    ssize_t r = read(sync_fd, &ch, 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return fail_sys(e, "hook", NULL);
    if (r == 0)
      return fail_msg(e, "hook", NULL, 0, "hook: sync fd closed while waiting for the caller");
    if (ch == '\n')
      return 0;
  }
}
