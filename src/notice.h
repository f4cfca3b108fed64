/*
 * Desktop notices and questions for whoever sits at this machine (see
 * notice.c): NotifyOnConnect and ConfirmConnect on remote forwards.
 */
#ifndef PORTHOLE_NOTICE_H
#define PORTHOLE_NOTICE_H

#include <stdbool.h>
#include <uv.h>

/* Shows a notice and forgets it; a missing notification helper is said once. */
void notice_show(uv_loop_t *loop, const char *title, const char *body);

struct notice_ask;

/* allowed, or not with why ("nobody answered on the desktop in time", ...). */
typedef void (*notice_answer_cb)(bool allowed, const char *why, void *arg);

/*
 * Asks "Allow" or "Deny" on the desktop; done is called once, within
 * timeout_s seconds. If the question cannot even be shown, done is called
 * (denied) before this returns, and NULL is returned.
 */
struct notice_ask *notice_ask(uv_loop_t *loop, const char *title, const char *body,
    unsigned timeout_s, notice_answer_cb done, void *arg);
/* Withdraws the question: done will not be called. NULL is fine. */
void notice_ask_cancel(struct notice_ask *a);

#endif
