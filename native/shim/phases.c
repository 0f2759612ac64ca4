/* phases.c: berth-init's phase timings (docs/plan.md "Messages"), kept for the caller's trace of the start. */
#include "shim.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One `phase` line of the container's launch (an exec's are not traced): `exec` comes after
 * `created`, when the start was released, and is reported with the exit; the others go into the
 * start-up report. */
void launch_phase(const struct launch *l, const char *name, long long ns)
{
  if (l->exec_id || !name || !*name || ns <= 0)
    return;
  if (!strcmp(name, "exec")) {
    S.exec_ns = ns;
    return;
  }
  /* berth-init's own names are lower-case words: nothing to escape; anything else is not ours. */
  for (const char *p = name; *p; p++)
    if (*p < 'a' || *p > 'z')
      return;
  size_t room = sizeof S.phases - S.phases_len;
  int n = snprintf(S.phases + S.phases_len, room, "%s\"%s\":%lld", S.phases_len ? "," : "", name, ns);
  if (n > 0 && (size_t)n < room)
    S.phases_len += (size_t)n;
  else
    S.phases[S.phases_len] = 0; /* full: the rest of the phases are dropped, never half a pair */
}
