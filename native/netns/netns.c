/* berth-netns: pins a new network namespace on a file (loopback up) for the engine's CNI ADD,
 * and removes a pinned one. `berth-netns add PATH` / `berth-netns del PATH`.
 * Errors are one JSON line on stderr, as the other Berth programs report them (STYLE.md). */
#include "../common/loopback.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *step, const char *path)
{
  int err = errno;
  fprintf(stderr, "{\"type\":\"error\",\"step\":\"%s\",\"path\":\"%s\",\"errno\":%d,\"message\":\"%s `%s`: %s\"}\n",
          step, path, err, step, path, strerror(err));
  return 1;
}

static int add(const char *path)
{
  int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0)
    return fail("create", path);
  close(fd);
  if (unshare(CLONE_NEWNET) < 0) {
    fail("unshare", path);
    unlink(path);
    return 1;
  }
  if (set_loopback_up() < 0) {
    fail("loopback", path);
    unlink(path);
    return 1;
  }
  /* The bind mount keeps the namespace alive after we exit. */
  if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0) {
    fail("mount", path);
    unlink(path);
    return 1;
  }
  return 0;
}

static int del(const char *path)
{
  /* Already gone (a second cleanup after a crash) is success. */
  if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    return fail("umount", path);
  if (unlink(path) < 0 && errno != ENOENT)
    return fail("unlink", path);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc == 3 && !strcmp(argv[1], "add"))
    return add(argv[2]);
  if (argc == 3 && !strcmp(argv[1], "del"))
    return del(argv[2]);
  fprintf(stderr, "usage: berth-netns add|del PATH\n");
  return 2;
}
