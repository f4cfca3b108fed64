/*
 * The control socket of a running porthole (ControlPath): "porthole status"
 * asks it, and a second instance of the same profile finds it and stops.
 */
#ifndef PORTHOLE_CTLSOCK_H
#define PORTHOLE_CTLSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <uv.h>

#include "buf.h"
#include "control.h"

struct ctlsock;

/* One client's answer, while the handler builds it. */
struct ctlsock_reply;

/*
 * Handles a well-formed request (ping is answered by the socket itself):
 * writes the answer into ctlsock_reply_buf(r) and calls ctlsock_reply_send(r),
 * now or later. Until then r stays valid, even if the client has gone.
 */
typedef void (*ctlsock_handler_fn)(
    struct ctlsock_reply *r, const struct control_request *req, void *arg);
struct buf *ctlsock_reply_buf(struct ctlsock_reply *r);
/* Sends the answer and closes the client; r is gone afterwards. */
void ctlsock_reply_send(struct ctlsock_reply *r);

/*
 * The directory for control sockets: $XDG_RUNTIME_DIR/porthole, else
 * $XDG_CACHE_HOME/porthole, else ~/.cache/porthole (never a name in /tmp,
 * which another user could create first). NULL when there is no home.
 */
char *ctlsock_dir(void);

/*
 * Makes sure dir exists (creating it and missing parents, mode 0700), is
 * ours and is private (0700), and that its parent is ours or root's and
 * writable by no one else. Returns 0, or -1 with err saying why it cannot
 * be trusted (also for dir NULL).
 */
int ctlsock_prepare_dir(const char *dir, char *err, size_t errlen);

/*
 * Listens on path (mode 0600). A socket left there by an instance that died
 * is replaced; a live one is not: returns -2 (another instance runs), or -1
 * with err for other failures.
 */
int ctlsock_open(uv_loop_t *loop, const char *path, ctlsock_handler_fn handler, void *arg,
    struct ctlsock **out, char *err, size_t errlen);
void ctlsock_close(struct ctlsock *c);

/* Whether a program answers on the Unix socket at path (a live instance, a live listener). */
bool ctlsock_alive(const char *path);

/*
 * Client: sends request, copies the answer to out. Returns 0; -1 with err
 * when nothing runs there; -2 with err ("not answering (pid N ...)") when the
 * instance took the connection but did not answer within 5 s (stopped, hung).
 */
int ctlsock_query(const char *path, const char *request, FILE *out, char *err, size_t errlen);

#endif
