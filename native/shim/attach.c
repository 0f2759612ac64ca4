/* attach.c: control-socket clients: request lines in, replies and attach streams out, each
 * with its own output queue so a slow client never blocks the container or the others. */
#include "shim.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define REQ_LINE_MAX 8192

struct chunk {
  struct chunk *next;
  size_t len, off;
  char data[];
};

static void on_client(struct ev *ev, uint32_t events);
static void read_in(struct client *c);

void client_new(int fd)
{
  struct client *c = calloc(1, sizeof *c);
  if (!c) {
    close(fd);
    return;
  }
  c->ev.fd = fd;
  c->ev.fn = on_client;
  c->mode = C_REQ;
  c->next = S.clients;
  S.clients = c;
  client_update(c);
}

/* Interest follows state: input while a request can come or stdin can be taken, output
 * while something is queued. EPOLLHUP alone keeps the fd registered (it is always reported). */
void client_update(struct client *c)
{
  uint32_t m = EPOLLHUP;
  if (c->dead)
    return;
  if (!c->rd_closed) {
    if (c->mode == C_REQ || c->mode == C_WAIT || c->mode == C_EVENTS)
      m |= EPOLLIN;
    else if (c->mode == C_STREAM && !(c->want_in && c->t && c->t->inlen))
      m |= EPOLLIN;
  }
  if (c->q)
    m |= EPOLLOUT;
  ev_watch(&c->ev, m);
}

void client_close(struct client *c)
{
  if (c->dead)
    return;
  c->dead = 1;
  ev_close(&c->ev);
  size_t held = c->qbytes;
  while (c->q) {
    struct chunk *k = c->q;
    c->q = k->next;
    free(k);
  }
  if (held > 64 * 1024)
    malloc_trim(0); /* a cut-off client's backlog (up to 1 MiB) must not stay resident */
  c->qtail = NULL;
  c->qbytes = 0;
  if (c->launch)
    c->launch->client = NULL;
  c->launch = NULL;
}

void clients_reap_dead(void)
{
  for (struct client **pp = &S.clients; *pp;) {
    struct client *c = *pp;
    if (!c->dead) {
      pp = &c->next;
      continue;
    }
    *pp = c->next;
    free(c->line);
    free(c);
  }
}

/* The last pass before the shim exits: requests already sent (a `wait` racing the exit) are
 * read and answered, instead of being lost with the connection. Returns 1 if replies are queued. */
int clients_last_requests(void)
{
  for (struct client *c = S.clients; c; c = c->next) {
    for (int i = 0; i < 8 && !c->dead && c->mode == C_REQ && !c->rd_closed; i++) {
      size_t before = c->llen;
      int had_q = c->q != NULL;
      read_in(c);
      if (c->llen == before && (c->q != NULL) == had_q)
        break; /* nothing more to read now */
    }
  }
  return clients_pending();
}

int clients_pending(void)
{
  for (struct client *c = S.clients; c; c = c->next)
    if (!c->dead && c->q)
      return 1;
  return 0;
}

static void send_iov(struct client *c, struct iovec *iov, int cnt)
{
  size_t total = 0, sent = 0;
  if (c->dead)
    return;
  for (int i = 0; i < cnt; i++)
    total += iov[i].iov_len;
  if (!c->q) {
    struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };
    ssize_t w;
    do
      w = sendmsg(c->ev.fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w < 0 && errno != EAGAIN) {
      client_close(c);
      return;
    }
    if (w > 0)
      sent = (size_t)w;
  }
  if (sent == total)
    return;
  if (c->qbytes + (total - sent) > MAX_CLIENT_BACKLOG) {
    client_close(c); /* too slow: it would make us hold the container's output */
    return;
  }
  struct chunk *k = malloc(sizeof *k + total - sent);
  if (!k) {
    client_close(c);
    return;
  }
  k->next = NULL;
  k->len = total - sent;
  k->off = 0;
  size_t at = 0;
  for (int i = 0; i < cnt; i++) {
    size_t l = iov[i].iov_len, skip = sent > l ? l : sent;
    sent -= skip;
    memcpy(k->data + at, (char *)iov[i].iov_base + skip, l - skip);
    at += l - skip;
  }
  if (c->qtail)
    c->qtail->next = k;
  else
    c->q = k;
  c->qtail = k;
  c->qbytes += k->len;
  client_update(c);
}

void client_send(struct client *c, const char *p, size_t n)
{
  struct iovec iov = { .iov_base = (void *)p, .iov_len = n };
  send_iov(c, &iov, 1);
}

/* Docker's stdcopy framing without a terminal: [stream, 0, 0, 0, size (big-endian)] data. */
void client_broadcast(struct task *t, int kind, const char *p, size_t n)
{
  unsigned char hdr[8] = { (unsigned char)kind, 0, 0, 0, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
                           (unsigned char)(n >> 8), (unsigned char)n };
  for (struct client *c = S.clients; c; c = c->next) {
    if (c->dead || c->mode != C_STREAM || c->t != t)
      continue;
    if (c->raw) {
      if (c->want_out)
        client_send(c, p, n);
      continue;
    }
    if ((kind == 1 && !c->want_out) || (kind == 2 && !c->want_err))
      continue;
    struct iovec iov[2] = { { .iov_base = hdr, .iov_len = 8 }, { .iov_base = (void *)p, .iov_len = n } };
    send_iov(c, iov, 2);
  }
}

void client_close_stream(struct task *t)
{
  for (struct client *c = S.clients; c; c = c->next) {
    if (c->dead || c->mode != C_STREAM || c->t != t)
      continue;
    if (c->q)
      c->close_after_flush = 1;
    else
      client_close(c);
  }
}

void client_input(struct client *c, const char *p, size_t n)
{
  if (c->want_in && c->t)
    task_stdin(c->t, p, n);
}

static void flush(struct client *c)
{
  while (c->q) {
    struct chunk *k = c->q;
    ssize_t w = send(c->ev.fd, k->data + k->off, k->len - k->off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN)
      return;
    if (w <= 0) {
      client_close(c);
      return;
    }
    k->off += (size_t)w;
    c->qbytes -= (size_t)w;
    if (k->off < k->len)
      return;
    c->q = k->next;
    if (!c->q)
      c->qtail = NULL;
    free(k);
  }
  if (c->close_after_flush)
    client_close(c);
  else
    client_update(c);
}

/* Handle every complete request line; stop when a request turned the connection into a
 * stream or a wait (the bytes after it then belong to that). */
void client_process_lines(struct client *c)
{
  char *nl;
  while (!c->dead && c->mode == C_REQ && c->llen && (nl = memchr(c->line, '\n', c->llen))) {
    size_t used = (size_t)(nl - c->line) + 1;
    *nl = 0;
    ctrl_request(c, c->line);
    c->llen -= used;
    memmove(c->line, c->line + used, c->llen);
  }
  if (!c->dead && c->mode == C_STREAM && c->llen) {
    client_input(c, c->line, c->llen);
    c->llen = 0;
  }
  if (!c->dead && c->mode == C_REQ && c->rd_closed && !c->q)
    client_close(c);
}

static void read_in(struct client *c)
{
  char buf[4096];
  ssize_t r = read(c->ev.fd, buf, sizeof buf);
  if (r < 0) {
    if (errno != EAGAIN && errno != EINTR)
      client_close(c);
    return;
  }
  if (r == 0) {
    /* A half-close ends requests or stdin from this client, not its output (docs/shim.md). */
    c->rd_closed = 1;
    if (c->mode == C_REQ && !c->q)
      client_close(c);
    else if (c->mode == C_REQ)
      c->close_after_flush = 1;
    client_update(c);
    return;
  }
  if (c->mode == C_STREAM) {
    client_input(c, buf, (size_t)r);
    return;
  }
  if (c->llen + (size_t)r > REQ_LINE_MAX) {
    static const char msg[] = "{\"ok\":false,\"error\":\"request line too long\"}\n";
    client_send(c, msg, sizeof msg - 1);
    c->close_after_flush = 1;
    c->rd_closed = 1;
    if (!c->q)
      client_close(c);
    client_update(c);
    return;
  }
  if (c->llen + (size_t)r > c->lcap) {
    size_t cap = c->lcap ? c->lcap : 256;
    while (cap < c->llen + (size_t)r)
      cap *= 2;
    char *b = realloc(c->line, cap);
    if (!b) {
      client_close(c);
      return;
    }
    c->line = b;
    c->lcap = cap;
  }
  memcpy(c->line + c->llen, buf, (size_t)r);
  c->llen += (size_t)r;
  client_process_lines(c);
}

static void on_client(struct ev *ev, uint32_t events)
{
  struct client *c = container_of(ev, struct client, ev);
  if (events & EPOLLOUT)
    flush(c);
  if (!c->dead && (events & EPOLLIN))
    read_in(c);
  if (!c->dead && (events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLIN))
    client_close(c); /* the peer is gone both ways: nothing can reach it any more */
}
