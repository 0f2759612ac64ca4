/* exit.c: how the container ended (OOM from the memory cgroup, the atomic exit.json), the
 * leftovers killed and reaped, and the shim's own exit. */
#include "shim.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The kernel's OOM-kill counter for the cgroup: v1 `memory.oom_control`, v2 `memory.events`. */
int oom_read(long long *count)
{
  char path[4200], line[256];
  int found = -1;
  if (!S.oom_dir)
    return -1;
  snprintf(path, sizeof path, "%s/%s", S.oom_dir, S.oom_v2 ? "memory.events" : "memory.oom_control");
  FILE *f = fopen(path, "re");
  if (!f)
    return -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "oom_kill %lld", count) == 1) {
      found = 0;
      break;
    }
  fclose(f);
  return found;
}

/* SIGKILL what is left in the container's cgroup (daemons of a container without a pid
 * namespace: with one, the kernel kills them as its init dies); how many were signalled. */
static int kill_leftovers(void)
{
  char path[4200];
  long pid;
  int n = 0;
  if (!S.oom_dir)
    return 0;
  snprintf(path, sizeof path, "%s/cgroup.procs", S.oom_dir);
  FILE *f = fopen(path, "re");
  if (!f)
    return 0;
  while (fscanf(f, "%ld", &pid) == 1)
    if (pid > 0 && pid != S.pid && kill((pid_t)pid, SIGKILL) == 0)
      n++;
  fclose(f);
  return n;
}

/* Undo first, report last: the leftovers are killed and gone from the cgroup (cgroup.procs
 * lists no zombie) before exit.json, the waiters and the attach streams say the container
 * exited, so a reader of the exit never finds them. Bounded: one stuck in the kernel (D state)
 * must not hold the report back for ever; the shim still reaps it before its own exit. */
static void end_leftovers(void)
{
  if (!kill_leftovers())
    return;
  int64_t end = mono_ms() + LEFTOVER_MS;
  struct timespec ms = { 0, 1000000 };
  /* Killed again, not just counted: one may have forked between the read of cgroup.procs and its kill. */
  while (kill_leftovers() && mono_ms() < end)
    nanosleep(&ms, NULL);
}

void shim_finish(void)
{
  struct task *t = S.ctr;
  struct serr e = { 0 };
  char b[600];
  long long oom;
  if (S.finishing)
    return;
  end_leftovers();
  if (S.oom_known && oom_read(&oom) == 0 && oom > S.oom_base)
    t->oom_killed = 1;
  size_t n = exit_object(b, sizeof b - 1, t);
  b[n++] = '\n';
  /* Nothing to report a failure to: berthd then finds no exit.json and says the shim lost it. */
  write_file_atomic(S.dir, "exit.json", b, n, &e);
  S.finishing = 1;
  S.finish_deadline = mono_ms() + FINISH_MS;
  log_drops_notify(NULL); /* the last count before the exit, so nothing is held back */
  ctrl_answer_waiters(t);
  client_close_stream(t);
  tick_need();
}

int reap_children(void)
{
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p > 0) {
      if (log_child_exited(p) || runtime_child_exited(p, st))
        continue;
      struct task *t = task_by_pid(p);
      if (t)
        task_exited(t, st);
      else
        launch_child_exited(p, st);
      continue;
    }
    if (p < 0 && errno == EINTR)
      continue;
    return p == 0;
  }
}

/* Once exit.json is written: wait for queued output to reach clients, execs to drain and
 * children to be reaped, but never past FINISH_MS. */
void shim_maybe_exit(void)
{
  if (!S.finishing)
    return;
  int busy = reap_children() || clients_pending();
  for (struct task *t = S.execs; t && !busy; t = t->next)
    busy = !t->drained;
  if (busy && mono_ms() < S.finish_deadline)
    return;
  /* A request that raced the exit (sent, not yet read) is answered, once: the socket is removed
   * first, so no new one can come; its reply is flushed before the exit. */
  if (!S.last_pass) {
    S.last_pass = 1;
    ctrl_unlink();
    ctrl_accept_pending();
    if (clients_last_requests() && mono_ms() < S.finish_deadline + FINISH_MS) {
      S.finish_deadline = mono_ms() + 250;
      return;
    }
  }
  for (struct client *c = S.clients; c; c = c->next)
    client_close(c);
  for (struct launch *l = S.launches; l; l = l->next)
    launch_cleanup(l);
  if (S.runtime)
    runtime_delete(); /* after exit.json and the waiters: nobody waits for it */
  ctrl_unlink();
  unlink(S.pid_path);
  exit(0);
}
