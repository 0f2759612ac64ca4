/* util.c: errors, the epoll loop, time formatting, atomic files. */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static int epfd = -1;

int fail_sys(struct serr *e, const char *step, const char *path)
{
  int err = errno;
  if (path)
    return fail_msg(e, step, err, "%s `%s`: %s", step, path, strerror(err));
  return fail_msg(e, step, err, "%s: %s", step, strerror(err));
}

int fail_msg(struct serr *e, const char *step, int errnum, const char *fmt, ...)
{
  va_list ap;
  e->step = step;
  e->errnum = errnum;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return -1;
}

int loop_init(struct serr *e)
{
  epfd = epoll_create1(EPOLL_CLOEXEC);
  return epfd < 0 ? fail_sys(e, "epoll", NULL) : 0;
}

void ev_watch(struct ev *ev, uint32_t mask)
{
  struct epoll_event ee = { .events = mask, .data.ptr = ev };
  if (ev->fd < 0 || mask == ev->mask)
    return;
  if (!mask)
    epoll_ctl(epfd, EPOLL_CTL_DEL, ev->fd, NULL);
  else if (epoll_ctl(epfd, ev->mask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, ev->fd, &ee) < 0)
    return; /* only ENOMEM can get here; the fd then stays as it was */
  ev->mask = mask;
}

void ev_close(struct ev *ev)
{
  if (ev->fd < 0)
    return;
  ev_watch(ev, 0);
  close(ev->fd);
  ev->fd = -1;
}

void loop_run_once(void)
{
  struct epoll_event evs[16];
  int n = epoll_wait(epfd, evs, 16, -1);
  for (int i = 0; i < n; i++) {
    struct ev *ev = evs[i].data.ptr;
    /* An earlier handler in this batch may have closed it; owners are freed only after the batch. */
    if (ev->fd >= 0)
      ev->fn(ev, evs[i].events);
  }
  clients_reap_dead();
}

int set_nonblock(int fd)
{
  int fl = fcntl(fd, F_GETFL);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int64_t mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Go's time.RFC3339Nano drops trailing zeros of the fraction; Docker's json-file uses it. */
void fmt_time(char *out, size_t cap, const struct timespec *ts)
{
  struct tm tm;
  char frac[16];
  gmtime_r(&ts->tv_sec, &tm);
  snprintf(frac, sizeof frac, ".%09ld", ts->tv_nsec);
  size_t k = strlen(frac);
  while (k > 1 && frac[k - 1] == '0')
    frac[--k] = 0;
  if (k == 1)
    frac[0] = 0;
  snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, frac);
}

int write_all(int fd, const char *p, size_t n)
{
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Temp file then rename: a reader sees the old file or the whole new one. No fsync: the state
 * dir does not outlive a reboot (tmpfs, as runc's), and rename is atomic for every reader on a
 * running system; an fsync of the file and of the dir cost milliseconds on a busy disk at every
 * container start (shim.pid) and exit (exit.json), before the waiters were answered. */
int write_file_atomic(const char *dir, const char *name, const char *data, size_t n, struct serr *e)
{
  char tmp[4200], dst[4200];
  snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
  snprintf(dst, sizeof dst, "%s/%s", dir, name);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail_sys(e, "exit", tmp);
  if (write_all(fd, data, n) < 0) {
    fail_sys(e, "exit", tmp);
    close(fd);
    unlink(tmp);
    return -1;
  }
  close(fd);
  if (rename(tmp, dst) < 0) {
    fail_sys(e, "exit", dst);
    unlink(tmp);
    return -1;
  }
  return 0;
}
