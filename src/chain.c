/*
 * The chain of sessions. links[0..n-2] are the jump hosts in the order they
 * are dialled, links[n-1] the destination; link i > 0 rides on a
 * direct-tcpip channel of link i-1 (hopchan.c).
 *
 *   UP   --any link dies--> (report on a fresh stack: the first dead link's
 *        failure goes to ev->dead, "via HOP: ..." for a hop) DOWN
 *   DOWN --chain_reconnect--> the first dead link connects again; each link
 *        that becomes ready starts the next; the last one ready: ev->ready, UP
 *
 * A hop's death takes the links after it down by itself: their transports
 * close when the hop session loses its clients. The report waits for a
 * fresh stack, so it names the first dead link whatever order the deaths
 * were announced in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "algo.h"
#include "chain.h"
#include "hopchan.h"
#include "jumpspec.h"
#include "log.h"
#include "settings.h"
#include "xmalloc.h"

struct chain_link {
	struct chain *chain;
	size_t index;
	char *name;		   /* as written: "bastion", "me@10.0.0.1:2222" */
	struct settings st;	   /* a hop's own settings */
	bool own;		   /* st is set */
	const struct options *use; /* &st.opt for a hop; the caller's for the destination */
	struct session *s;
	bool started;
};

struct chain {
	uv_loop_t *loop;
	struct session_events ev;
	struct chain_link links[CHAIN_MAX_HOPS + 1];
	size_t n;
	bool down; /* reported dead; waits for chain_reconnect */
	bool stopping;
	uv_timer_t report;
};

/* ---- building: hop names to settings ---- */

static bool
is_set(const char *v)
{
	return v != NULL && strcmp(v, "none") != 0;
}

/*
 * The settings for a jump host, as `ssh HOP` would have them (settings.c's
 * ~/.ssh/config evaluation, the destination's policy where the hop's config
 * says nothing). All config lookup for hops goes through here.
 */
static int
hop_lookup(const struct jump_hop *h, const struct options *dest, struct settings *st, char *err,
    size_t errlen)
{
	char e[512];

	if (settings_load_hop(st, h->host, h->user, h->port, dest, e, sizeof(e)) == -1 ||
	    algo_resolve(&st->opt, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "jump host %s: %s", h->host, e);
		return -1;
	}
	return 0;
}

/* "a -> b -> c" from the names in stack. */
static void
print_stack(const char *const *stack, int depth, const char *last, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; i < depth && o < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%s -> ", stack[i]);
	if (o < outlen)
		snprintf(out + o, outlen - o, "%s", last);
}

static int add_jumps(struct chain *c, const char *jump, const struct options *dest,
    const char **stack, int depth, char *err, size_t errlen);

static int
add_link(struct chain *c, const struct jump_hop *h, struct settings *st, char *err, size_t errlen)
{
	struct chain_link *l;
	char name[600];

	if (c->n >= CHAIN_MAX_HOPS) {
		snprintf(err, errlen, "more than %d jump hosts", CHAIN_MAX_HOPS);
		settings_free(st);
		return -1;
	}
	l = &c->links[c->n];
	l->index = c->n++;
	jumpspec_format_hop(h, name, sizeof(name));
	l->name = xstrdup(name);
	l->st = *st;
	l->own = true;
	l->use = &l->st.opt;
	/* Only the first link is dialled directly: a later one's ProxyCommand is not used. */
	if (l->index > 0 && l->st.opt.proxy_command_run != NULL) {
		log_debug("jump host %s: its ProxyCommand is not used (reached via %s)", l->name,
		    c->links[l->index - 1].name);
		free(l->st.opt.proxy_command_run);
		l->st.opt.proxy_command_run = NULL;
	}
	return 0;
}

/*
 * Appends the hops of jump: the first one's own ProxyJump (from its config)
 * goes in front of it, as ssh -J does; stack holds the names whose
 * ProxyJump is being expanded, to catch a cycle.
 */
static int
add_jumps(struct chain *c, const char *jump, const struct options *dest, const char **stack,
    int depth, char *err, size_t errlen)
{
	struct jumpspec js;
	char e[512], path[2048];

	if (jumpspec_parse(jump, &js, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "ProxyJump of %s: %s", stack[depth - 1], e);
		return -1;
	}
	for (int i = 0; i < js.n; i++) {
		struct settings o;
		for (int k = 0; k < depth; k++) {
			if (strcasecmp(stack[k], js.hops[i].host) == 0) {
				print_stack(stack, depth, js.hops[i].host, path, sizeof(path));
				snprintf(err, errlen, "ProxyJump cycle: %s", path);
				jumpspec_free(&js);
				return -1;
			}
		}
		if (hop_lookup(&js.hops[i], dest, &o, err, errlen) == -1) {
			settings_free(&o);
			jumpspec_free(&js);
			return -1;
		}
		if (i == 0 && is_set(o.opt.proxy_jump)) {
			if (depth >= CHAIN_MAX_HOPS) {
				snprintf(err, errlen, "more than %d jump hosts", CHAIN_MAX_HOPS);
				settings_free(&o);
				jumpspec_free(&js);
				return -1;
			}
			stack[depth] = js.hops[i].host;
			if (add_jumps(c, o.opt.proxy_jump, dest, stack, depth + 1, err, errlen) ==
			    -1) {
				settings_free(&o);
				jumpspec_free(&js);
				return -1;
			}
		}
		if (add_link(c, &js.hops[i], &o, err, errlen) == -1) {
			jumpspec_free(&js);
			return -1;
		}
	}
	jumpspec_free(&js);
	return 0;
}

/* ---- running ---- */

static struct transport *
hop_dial(struct session *s, const struct transport_events *ev, void *arg)
{
	struct chain_link *l = arg;
	struct chain_link *prev = &l->chain->links[l->index - 1];

	return hopchan_new(
	    l->chain->loop, prev->s, prev->name, session_host(s), session_port(s), ev, s);
}

static void
kick(struct chain_link *l)
{
	if (!l->started) {
		l->started = true;
		session_start(l->s);
	} else {
		session_reconnect(l->s);
	}
}

static void
link_ready_cb(struct session *s, void *arg)
{
	struct chain_link *l = arg;
	struct chain *c = l->chain;

	if (c->stopping)
		return;
	if (l->index + 1 < c->n) {
		kick(&c->links[l->index + 1]);
		return;
	}
	c->down = false;
	if (c->ev.ready != NULL)
		c->ev.ready(s, c->ev.arg);
}

static void
report_cb(uv_timer_t *t)
{
	struct chain *c = t->data;
	struct chain_link *last = &c->links[c->n - 1];
	struct session_info si;
	char why[1200];
	int status = 255;
	bool permanent = false;

	if (c->stopping || c->down)
		return;
	for (size_t i = 0; i < c->n; i++) {
		struct chain_link *l = &c->links[i];
		if (!session_failure(l->s, &status, &permanent))
			continue;
		session_get_info(l->s, &si);
		if (l == last)
			snprintf(why, sizeof(why), "%s", si.last_error);
		else
			snprintf(why, sizeof(why), "via %s: %s", l->name, si.last_error);
		c->down = true;
		if (c->ev.dead != NULL)
			c->ev.dead(last->s, status, permanent, why, c->ev.arg);
		return;
	}
}

static void
link_dead_cb(struct session *s, int status, bool permanent, const char *why, void *arg)
{
	struct chain_link *l = arg;
	struct chain *c = l->chain;

	if (l->index + 1 < c->n)
		log_debug("jump host %s: %s", l->name, why);
	if (!c->stopping && !c->down)
		uv_timer_start(&c->report, report_cb, 0, 0);
}

/* A connection waits for the destination's session: the app may reconnect sooner. */
static void
link_waiting_cb(struct session *s, void *arg)
{
	struct chain_link *l = arg;
	struct chain *c = l->chain;

	if (l->index + 1 == c->n && !c->stopping && c->ev.waiting != NULL)
		c->ev.waiting(s, c->ev.arg);
}

struct chain *
chain_new(uv_loop_t *loop, const struct options *opt, const struct session_events *ev, char *err,
    size_t errlen)
{
	struct chain *c = xcalloc(1, sizeof(*c));
	const char *stack[CHAIN_MAX_HOPS + 1];

	c->loop = loop;
	c->ev = *ev;
	stack[0] = opt->host;
	if (is_set(opt->proxy_jump) &&
	    add_jumps(c, opt->proxy_jump, opt, stack, 1, err, errlen) == -1) {
		chain_free(c);
		return NULL;
	}
	struct chain_link *dest = &c->links[c->n];
	dest->index = c->n++;
	dest->name = xstrdup(opt->host);
	dest->use = opt;
	for (size_t i = 0; i < c->n; i++) {
		struct chain_link *l = &c->links[i];
		struct session_events lev = {link_ready_cb, link_dead_cb, link_waiting_cb, l};
		l->chain = c;
		l->s = session_new(loop, l->use, &lev);
		if (i > 0)
			session_set_dialer(l->s, hop_dial, l);
		if (i + 1 < c->n)
			session_set_label(l->s, l->name);
	}
	uv_timer_init(loop, &c->report);
	c->report.data = c;
	return c;
}

struct session *
chain_session(struct chain *c)
{
	return c->links[c->n - 1].s;
}

void
chain_set_reconnect(struct chain *c, bool reconnect)
{
	/* Hops never keep requests for a later session: their channels belong to this one. */
	session_set_reconnect(chain_session(c), reconnect);
}

void
chain_start(struct chain *c)
{
	c->down = false;
	kick(&c->links[0]);
}

void
chain_reconnect(struct chain *c)
{
	if (c->stopping)
		return;
	c->down = false;
	for (size_t i = 0; i < c->n; i++) {
		struct chain_link *l = &c->links[i];
		if (!l->started || session_is_dead(l->s)) {
			kick(l);
			return;
		}
	}
}

void
chain_stop(struct chain *c)
{
	if (c->stopping)
		return;
	c->stopping = true;
	/* The destination first: it says goodbye while the hops still carry it. */
	for (size_t i = c->n; i-- > 0;)
		session_stop(c->links[i].s);
	uv_close((uv_handle_t *)&c->report, NULL);
}

void
chain_free(struct chain *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++) {
		struct chain_link *l = &c->links[i];
		session_free(l->s);
		if (l->own)
			settings_free(&l->st);
		free(l->name);
	}
	free(c);
}

size_t
chain_hops(const struct chain *c)
{
	return c->n - 1;
}

const char *
chain_hop_name(const struct chain *c, size_t i)
{
	return c->links[i].name;
}

void
chain_hop_info(const struct chain *c, size_t i, struct session_info *out)
{
	session_get_info(c->links[i].s, out);
}
