// bench/network's two ends, in C so neither end is what gets measured: a server for inside the container
// (a sink that discards, an acceptor that closes at once) and the host-side clients (bulk send, connection rate).
//
//   network-peer serve SINK_PORT CLOSE_PORT     sink: read to EOF, then close; close: accept and close at once
//   network-peer send HOST PORT MIB             write MIB MiB, shut down writing, wait for the peer's close
//   network-peer conns HOST PORT N PAR          N times: connect, wait for the peer's close, close; PAR at once
// The clients print one line "<count> <seconds> <failures>".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUF (256 * 1024)
#define MAXFD 1024

static char buf[BUF];

static void die(const char *what) {
  fprintf(stderr, "network-peer: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int listener(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  if (listen(fd, 4096) < 0) die("listen");
  return fd;
}

/* One poll loop: two listeners and the open sink connections. */
static void serve(int sink_port, int close_port) {
  struct pollfd p[MAXFD];
  int n = 2;
  p[0] = (struct pollfd){.fd = listener(sink_port), .events = POLLIN};
  p[1] = (struct pollfd){.fd = listener(close_port), .events = POLLIN};
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    if (poll(p, n, -1) < 0 && errno != EINTR) die("poll");
    for (int i = n - 1; i >= 0; i--) {
      if (!p[i].revents) continue;
      if (i == 1) {
        int c;
        while ((c = accept4(p[1].fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) close(c);
      } else if (i == 0) {
        int c;
        while ((c = accept4(p[0].fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          if (n == MAXFD) { close(c); continue; }
          p[n++] = (struct pollfd){.fd = c, .events = POLLIN};
        }
      } else {
        ssize_t r;
        while ((r = read(p[i].fd, buf, BUF)) > 0) {}
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          close(p[i].fd);
          p[i] = p[--n];
        }
      }
    }
  }
}

static int dial(const char *host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) { fprintf(stderr, "network-peer: bad host %s\n", host); exit(2); }
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { close(fd); return -1; }
  return fd;
}

/* Read until the peer closes; 0 on a clean close, -1 on an error (a reset). */
static int drain(int fd) {
  ssize_t r;
  while ((r = read(fd, buf, BUF)) != 0) {
    if (r < 0 && errno != EINTR) return -1;
  }
  return 0;
}

static int send_bulk(const char *host, int port, long mib) {
  memset(buf, 'x', BUF);
  double t0 = now();
  int fd = dial(host, port);
  if (fd < 0) die("connect");
  long long left = (long long)mib << 20;
  while (left > 0) {
    ssize_t w = write(fd, buf, left < BUF ? left : BUF);
    if (w < 0) { if (errno == EINTR) continue; die("write"); }
    left -= w;
  }
  shutdown(fd, SHUT_WR);
  int failed = drain(fd) < 0;
  close(fd);
  printf("%lld %.6f %d\n", (long long)mib << 20, now() - t0, failed);
  return 0;
}

static long conns_loop(const char *host, int port, long n) {
  long failed = 0;
  for (long i = 0; i < n; i++) {
    int fd = dial(host, port);
    if (fd < 0) { failed++; continue; }
    if (drain(fd) < 0) failed++;
    close(fd);
  }
  return failed;
}

static int conns(const char *host, int port, long n, int par) {
  double t0 = now();
  long failed = 0;
  if (par <= 1) {
    failed = conns_loop(host, port, n);
  } else {
    // Each worker reports its failures as its exit status (capped), which is enough to tell "some failed".
    for (int w = 0; w < par; w++) {
      pid_t pid = fork();
      if (pid < 0) die("fork");
      if (pid == 0) {
        long f = conns_loop(host, port, n / par + (w < n % par));
        _exit(f > 250 ? 250 : (int)f);
      }
    }
    int st;
    while (wait(&st) > 0) failed += WIFEXITED(st) ? WEXITSTATUS(st) : 1;
  }
  printf("%ld %.6f %ld\n", n, now() - t0, failed);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc == 4 && !strcmp(argv[1], "serve")) serve(atoi(argv[2]), atoi(argv[3]));
  if (argc == 5 && !strcmp(argv[1], "send")) return send_bulk(argv[2], atoi(argv[3]), atol(argv[4]));
  if (argc == 6 && !strcmp(argv[1], "conns")) return conns(argv[2], atoi(argv[3]), atol(argv[4]), atoi(argv[5]));
  fprintf(stderr, "usage: network-peer serve SINK_PORT CLOSE_PORT | send HOST PORT MIB | conns HOST PORT N PAR\n");
  return 2;
}
