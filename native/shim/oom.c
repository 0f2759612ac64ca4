/* oom.c: OOM kills reported while the container runs (the `events` request), not only in exit.json.
 *
 * v1: an eventfd registered on `memory.oom_control` through `cgroup.event_control` (the kernel's
 * memory-cgroup notification API, Documentation/admin-guide/cgroup-v1/memory.rst, section 10).
 * v2: inotify on `memory.events`, which the kernel marks modified when a counter in it changes.
 * Either only says "look again": the `oom_kill` counter above the last value sent is what counts,
 * so a wake-up for an OOM that killed nothing (or a v1 cgroup being removed) sends nothing. */
#include "shim.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <unistd.h>

static struct ev oom_ev = { .fd = -1 };
static struct ev retry_ev = { .fd = -1 }; /* v1: a timerfd to look again after a notification */
static int retries;
static long long oom_sent; /* OOM kills (above S.oom_base) already sent to event clients */

/* The kills so far, relative to the count when the container started. */
long long oom_kills(void)
{
  long long n;
  if (!S.oom_known || oom_read(&n) != 0 || n < S.oom_base)
    return oom_sent;
  return n - S.oom_base;
}

void oom_send(struct client *only, long long kills, int event)
{
  char b[96];
  int n = event ? snprintf(b, sizeof b, "{\"ok\":true,\"event\":\"oom\",\"oom_kills\":%lld}\n", kills)
                : snprintf(b, sizeof b, "{\"ok\":true,\"oom_kills\":%lld}\n", kills);
  for (struct client *c = S.clients; c; c = c->next)
    if ((!only || c == only) && !c->dead && c->mode == C_EVENTS)
      client_send(c, b, (size_t)n);
}

/* 1 if a new kill was sent. */
static int oom_check(void)
{
  if (S.finishing)
    return 1; /* exit.json has it; the lifecycle takes it from there */
  long long k = oom_kills();
  if (k <= oom_sent)
    return 0;
  oom_sent = k;
  oom_send(NULL, k, 1);
  return 1;
}

static void retry_arm(int ms)
{
  struct itimerspec it = { .it_interval = { 0, ms * 1000000L }, .it_value = { 0, ms * 1000000L } };
  if (retry_ev.fd >= 0)
    timerfd_settime(retry_ev.fd, 0, ms ? &it : &(struct itimerspec){ 0 }, NULL);
}

/* v1 notifies when the cgroup goes under OOM, before the victim is chosen and counted: the
 * count is looked at again every 20 ms for a second (a notification without a kill, e.g. a
 * charge that succeeded after reclaim, then costs 50 reads). */
static void on_retry(struct ev *ev, uint32_t events)
{
  uint64_t n;
  (void)events;
  while (read(ev->fd, &n, sizeof n) > 0)
    ;
  if (oom_check() || --retries <= 0)
    retry_arm(0);
}

static void on_oom(struct ev *ev, uint32_t events)
{
  char buf[4096];
  (void)events;
  while (read(ev->fd, buf, sizeof buf) > 0) /* the eventfd's counter, or inotify records: drained */
    ;
  if (!oom_check() && retry_ev.fd >= 0) {
    retries = 50;
    retry_arm(20);
  }
}

/* Best effort: without a notification the OOM is still recorded at the exit, as before. */
void oom_watch(void)
{
  char path[4200], reg[64];
  if (!S.oom_known)
    return;
  if (S.oom_v2) {
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    snprintf(path, sizeof path, "%s/memory.events", S.oom_dir);
    if (fd < 0 || inotify_add_watch(fd, path, IN_MODIFY) < 0) {
      if (fd >= 0)
        close(fd);
      return;
    }
    oom_ev.fd = fd;
  } else {
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    snprintf(path, sizeof path, "%s/memory.oom_control", S.oom_dir);
    int cfd = open(path, O_RDONLY | O_CLOEXEC);
    snprintf(path, sizeof path, "%s/cgroup.event_control", S.oom_dir);
    int ctl = open(path, O_WRONLY | O_CLOEXEC);
    int n = snprintf(reg, sizeof reg, "%d %d", efd, cfd);
    int ok = efd >= 0 && cfd >= 0 && ctl >= 0 && write(ctl, reg, (size_t)n) == n;
    if (ctl >= 0)
      close(ctl);
    /* The registration holds its own reference to oom_control: ours can go. */
    if (cfd >= 0)
      close(cfd);
    if (!ok) {
      if (efd >= 0)
        close(efd);
      return;
    }
    oom_ev.fd = efd;
    retry_ev.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (retry_ev.fd >= 0) {
      retry_ev.fn = on_retry;
      ev_watch(&retry_ev, EPOLLIN);
    }
  }
  oom_ev.fn = on_oom;
  ev_watch(&oom_ev, EPOLLIN);
}
