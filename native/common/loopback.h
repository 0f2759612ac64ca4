/* loopback.h: set `lo` up in the calling process's network namespace (one ioctl, no netlink).
 * Shared by berth-init (plan record `loopback-up`) and berth-netns (pinned namespaces). */
#ifndef BERTH_LOOPBACK_H
#define BERTH_LOOPBACK_H
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* 0, or -1 with errno set. */
static inline int set_loopback_up(void)
{
  struct ifreq ifr;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return -1;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    rc = ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  int err = errno;
  close(s);
  errno = err;
  return rc;
}
#endif
