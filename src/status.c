/*
 * Status reports. Text is for people (one line per item, sizes in KiB/MiB);
 * JSON is for scripts and tests (raw counts, one object per instance, an
 * array when several instances answer).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "ctlsock.h"
#include "fdlimit.h"
#include "log.h"
#include "status.h"
#include "xmalloc.h"

#define STATUS_FLOW_DROPS 8 /* flows with drops listed, most first */

#define MAX_FORWARDS 256

static const char *
human(uint64_t bytes, char *out, size_t len)
{
	if (bytes < 10 * 1024)
		snprintf(out, len, "%llu B", (unsigned long long)bytes);
	else if (bytes < 10ULL * 1024 * 1024)
		snprintf(out, len, "%.1f KiB", (double)bytes / 1024);
	else if (bytes < 10ULL * 1024 * 1024 * 1024)
		snprintf(out, len, "%.1f MiB", (double)bytes / (1024 * 1024));
	else
		snprintf(out, len, "%.1f GiB", (double)bytes / (1024.0 * 1024 * 1024));
	return out;
}

static size_t
collect(const struct status_view *v, struct fwd_stats *st)
{
	size_t n = 0;

	for (size_t i = 0; i < v->n_listeners && n < MAX_FORWARDS; i++)
		listener_stats(v->listeners[i], &st[n++]);
	for (size_t i = 0; i < v->n_rforwards && n < MAX_FORWARDS; i++)
		rforward_stats(v->rforwards[i], &st[n++]);
	if (v->udp != NULL)
		n += udpfwd_stats(v->udp, st + n, MAX_FORWARDS - n);
	return n;
}

/* One line per jump host, in the order they are dialled. */
static void
report_hops_text(const struct status_view *v, struct buf *out)
{
	size_t n = v->chain != NULL ? chain_hops(v->chain) : 0;

	for (size_t i = 0; i < n; i++) {
		struct session_info hi;
		char rtt[32] = "unknown";
		chain_hop_info(v->chain, i, &hi);
		if (hi.rtt_ms >= 0)
			snprintf(rtt, sizeof(rtt), "%d ms", hi.rtt_ms);
		buf_printf(out, "  via %s (hop %zu): %s, %s, rtt %s, %u reconnect%s\n",
		    chain_hop_name(v->chain, i), i + 1, hi.state,
		    hi.peer[0] ? hi.peer : "no peer yet", rtt, hi.reconnects,
		    hi.reconnects == 1 ? "" : "s");
		if (hi.last_error[0] != '\0')
			buf_printf(out, "    last error: %s\n", hi.last_error);
	}
}

static void
report_hops_json(const struct status_view *v, struct buf *out)
{
	size_t n = v->chain != NULL ? chain_hops(v->chain) : 0;

	buf_printf(out, "\"hops\":[");
	for (size_t i = 0; i < n; i++) {
		struct session_info hi;
		char name[700] = "", state[64] = "", peer[700] = "", err[600] = "";
		chain_hop_info(v->chain, i, &hi);
		control_json_string(name, sizeof(name), chain_hop_name(v->chain, i));
		control_json_string(state, sizeof(state), hi.state);
		control_json_string(peer, sizeof(peer), hi.peer);
		control_json_string(err, sizeof(err), hi.last_error);
		buf_printf(out,
		    "%s{\"name\":%s,\"state\":%s,\"peer\":%s,\"connected_since\":%lld,"
		    "\"rtt_ms\":%d,\"reconnects\":%u,\"last_error\":%s}",
		    i ? "," : "", name, state, peer, hi.connected_since, hi.rtt_ms, hi.reconnects,
		    err);
	}
	buf_printf(out, "],");
}

/* PresenceCheck: whether the family machine answers on its port, in words. */
static void
report_presence_text(const struct status_view *v, struct buf *out)
{
	struct presence_info pi;
	char at[64] = "";

	if (v->presence == NULL)
		return;
	presence_check_info(v->presence, &pi);
	buf_printf(out, "  presence (%d): ", pi.port);
	if (strcmp(pi.state, "online") == 0) {
		long long ago = (long long)time(NULL) - pi.last_seen;
		buf_printf(out, "online, last seen %lld s ago (%s)\n", ago > 0 ? ago : 0, pi.name);
	} else if (strcmp(pi.state, "offline") == 0) {
		time_t t = (time_t)pi.offline_since;
		strftime(at, sizeof(at), "%H:%M:%S", localtime(&t));
		buf_printf(out, "offline since %s (%s)", at, pi.why);
		if (pi.last_seen == 0)
			buf_printf(out, ", never seen");
		buf_printf(out, "\n");
	} else {
		buf_printf(out, "never seen (not checked yet)\n");
	}
}

static void
report_presence_json(const struct status_view *v, struct buf *out)
{
	struct presence_info pi;
	char why[420] = "", name[140] = "";

	if (v->presence == NULL)
		return;
	presence_check_info(v->presence, &pi);
	control_json_string(why, sizeof(why), pi.why);
	control_json_string(name, sizeof(name), pi.name);
	buf_printf(out,
	    "\"presence\":{\"port\":%d,\"state\":\"%s\",\"last_seen\":%lld,"
	    "\"offline_since\":%lld,\"why\":%s,\"name\":%s},",
	    pi.port, pi.state, pi.last_seen, pi.offline_since, why, name);
}

/* The relay's line: its state and the TCP streams it carries. */
static void
report_relay_text(const struct status_view *v, struct buf *out)
{
	const struct status_relay *r = v->relay;

	if (r == NULL || r->state == NULL)
		return;
	buf_printf(out, "  relay: %s", r->state);
	if (r->streams)
		buf_printf(
		    out, ", %zu stream%s open", r->streams_open, r->streams_open == 1 ? "" : "s");
	buf_printf(out, "\n");
}

static void
report_relay_json(const struct status_view *v, struct buf *out)
{
	const struct status_relay *r = v->relay;
	char state[128] = "";

	if (r == NULL || r->state == NULL)
		return;
	control_json_string(state, sizeof(state), r->state);
	buf_printf(out, "\"relay\":{\"state\":%s,\"streams\":%s,\"streams_open\":%zu},", state,
	    r->streams ? "true" : "false", r->streams_open);
}

/*
 * UDP drops: this side's total, and the flows that lost the most, with what
 * each side dropped (the relay says, in DROPS frames, protocol 1.1; an older
 * relay only logs its drops on its stderr).
 */
static void
report_flow_drops_text(
    const struct status_view *v, const struct fwd_stats *st, size_t n, struct buf *out)
{
	struct udpfwd_flow_drops d[STATUS_FLOW_DROPS];
	uint64_t here, there = 0;

	if (v->udp == NULL)
		return;
	here = udpfwd_relay_drops(v->udp);
	for (size_t i = 0; i < n; i++)
		there += st[i].drops_relay;
	if (here + there == 0)
		return;
	buf_printf(out,
	    "  udp: %llu datagrams dropped on this side (late, over a flow's share of the "
	    "channel, or the relay down), %llu by the relay\n",
	    (unsigned long long)here, (unsigned long long)there);
	n = udpfwd_flow_drops(v->udp, d, STATUS_FLOW_DROPS);
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "    %s: flow %u%s%s: %llu dropped here, %llu by the relay\n",
		    d[i].forward, d[i].id, d[i].source[0] ? " from " : "", d[i].source,
		    (unsigned long long)d[i].drops, (unsigned long long)d[i].relay_drops);
}

static void
report_flow_drops_json(const struct status_view *v, struct buf *out)
{
	struct udpfwd_flow_drops d[STATUS_FLOW_DROPS];
	size_t n = v->udp != NULL ? udpfwd_flow_drops(v->udp, d, STATUS_FLOW_DROPS) : 0;

	buf_printf(out, "\"flow_drops\":[");
	for (size_t i = 0; i < n; i++) {
		char name[700] = "", source[128] = "";
		control_json_string(name, sizeof(name), d[i].forward);
		control_json_string(source, sizeof(source), d[i].source);
		const char *side = d[i].relay_drops == 0 ? "client"
		    : d[i].drops == 0			 ? "relay"
							 : "both";
		buf_printf(out,
		    "%s{\"forward\":%s,\"flow\":%u,\"source\":%s,\"side\":\"%s\","
		    "\"drops\":%llu,\"refused\":%llu,\"relay_drops\":%llu}",
		    i ? "," : "", name, d[i].id, source, side, (unsigned long long)d[i].drops,
		    (unsigned long long)d[i].refused, (unsigned long long)d[i].relay_drops);
	}
	buf_printf(out, "],");
}

static void
report_text(const struct status_view *v, const struct session_info *si, const struct fwd_stats *st,
    size_t n, struct buf *out)
{
	char up[32], down[32], since[64] = "never";

	if (si->connected_since != 0) {
		time_t t = (time_t)si->connected_since;
		strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S", localtime(&t));
	}
	char rtt[32] = "unknown";
	if (si->rtt_ms >= 0)
		snprintf(rtt, sizeof(rtt), "%d ms", si->rtt_ms);
	char silent[48] = "";
	if (strcmp(si->state, "not responding") == 0 && si->silent_ms >= 0)
		snprintf(silent, sizeof(silent), " (silent for %lld s)", si->silent_ms / 1000);
	buf_printf(out,
	    "%s (pid %lld): session %s%s, %s, connected since %s, rtt %s, "
	    "%u reconnect%s\n",
	    v->name, v->pid, si->state, silent, si->peer[0] ? si->peer : "no peer yet", since, rtt,
	    si->reconnects, si->reconnects == 1 ? "" : "s");
	if (si->last_error[0] != '\0') {
		char at[64] = "";
		time_t t = (time_t)si->last_error_at;
		strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S", localtime(&t));
		/* An error from before the session came back is history, and says so. */
		bool past = si->connected_since != 0 && si->connected_since >= si->last_error_at &&
		    strcmp(si->state, "ready") == 0;
		buf_printf(out, "  last error%s, at %s: %s\n", past ? " (since recovered)" : "", at,
		    si->last_error);
	}
	report_hops_text(v, out);
	report_presence_text(v, out);
	report_relay_text(v, out);
	for (size_t i = 0; i < n; i++) {
		const struct fwd_stats *f = &st[i];
		buf_printf(out, "  %s: %s", f->name, f->state);
		if (f->port != 0)
			buf_printf(out, " (port %d)", f->port);
		buf_printf(out, ", %u %s open, %llu total, %s up, %s down", f->open,
		    f->udp ? "flows" : "connections", (unsigned long long)f->total,
		    human(f->bytes_up, up, sizeof(up)), human(f->bytes_down, down, sizeof(down)));
		if (f->udp) {
			buf_printf(out, ", %llu dropped", (unsigned long long)f->drops);
			if (f->drops_relay > 0)
				buf_printf(out, " (and %llu by the relay)",
				    (unsigned long long)f->drops_relay);
		} else if (f->resets > 0)
			buf_printf(out, ", %llu reset", (unsigned long long)f->resets);
		if (f->via_relay > 0)
			buf_printf(out, ", %llu via relay, %llu via channel",
			    (unsigned long long)f->via_relay, (unsigned long long)f->via_channel);
		buf_printf(out, "\n");
	}
	report_flow_drops_text(v, st, n, out);
	buf_printf(out, "  file descriptors: %ld open of %ld\n", fdlimit_open(), fdlimit_max());
}

static void
report_json(const struct status_view *v, const struct session_info *si, const struct fwd_stats *st,
    size_t n, struct buf *out)
{
	char s[1024];

	s[0] = '\0';
	control_json_string(s, sizeof(s), v->name);
	buf_printf(
	    out, "{\"name\":%s,\"pid\":%lld,\"started\":%lld,", s, v->pid, (long long)v->started);
	s[0] = '\0';
	control_json_string(s, sizeof(s), si->state);
	buf_printf(out, "\"session\":{\"state\":%s,", s);
	s[0] = '\0';
	control_json_string(s, sizeof(s), si->peer);
	buf_printf(out,
	    "\"peer\":%s,\"connected_since\":%lld,\"rtt_ms\":%d,\"silent_ms\":%lld,"
	    "\"reconnects\":%u,\"last_error_at\":%lld,",
	    s, si->connected_since, si->rtt_ms, si->silent_ms, si->reconnects, si->last_error_at);
	s[0] = '\0';
	control_json_string(s, sizeof(s), si->last_error);
	buf_printf(out, "\"last_error\":%s},", s);
	report_hops_json(v, out);
	report_presence_json(v, out);
	report_relay_json(v, out);
	buf_printf(out, "\"forwards\":[");
	for (size_t i = 0; i < n; i++) {
		const struct fwd_stats *f = &st[i];
		char name[700] = "", state[128] = "";
		control_json_string(name, sizeof(name), f->name);
		control_json_string(state, sizeof(state), f->state);
		buf_printf(out,
		    "%s{\"name\":%s,\"udp\":%s,\"state\":%s,\"port\":%d,\"open\":%u,\"total\":%llu,"
		    "\"bytes_up\":%llu,\"bytes_down\":%llu,\"resets\":%llu,\"drops\":%llu,"
		    "\"drops_relay\":%llu,\"via_relay\":%llu,\"via_channel\":%llu}",
		    i ? "," : "", name, f->udp ? "true" : "false", state, f->port, f->open,
		    (unsigned long long)f->total, (unsigned long long)f->bytes_up,
		    (unsigned long long)f->bytes_down, (unsigned long long)f->resets,
		    (unsigned long long)f->drops, (unsigned long long)f->drops_relay,
		    (unsigned long long)f->via_relay, (unsigned long long)f->via_channel);
	}
	buf_printf(out, "],");
	report_flow_drops_json(v, out);
	buf_printf(out, "\"relay_drops\":%llu,\"fds\":{\"open\":%ld,\"limit\":%ld}}\n",
	    (unsigned long long)(v->udp != NULL ? udpfwd_relay_drops(v->udp) : 0), fdlimit_open(),
	    fdlimit_max());
}

void
status_report(const struct status_view *v, struct buf *out, bool json)
{
	static struct fwd_stats st[MAX_FORWARDS];
	struct session_info si;
	size_t n = collect(v, st);

	session_get_info(v->session, &si);
	if (json)
		report_json(v, &si, st, n, out);
	else
		report_text(v, &si, st, n, out);
}

void
status_instance_name(const struct options *o, bool profile, char *out, size_t outlen)
{
	if (profile)
		snprintf(out, outlen, "%s", o->host);
	else
		snprintf(out, outlen, "%s%s%s:%d", o->user ? o->user : "", o->user ? "@" : "",
		    o->host, o->port > 0 ? o->port : 22);
}

void
status_socket_name(const char *name, bool profile, char *out, size_t outlen)
{
	size_t i = 0;

	for (const char *p = name; *p != '\0' && i + 1 < outlen; p++)
		out[i++] = (*p == '/' || *p == ' ' || (unsigned char)*p < 0x20) ? '_' : *p;
	out[i] = '\0';
	if (profile)
		snprintf(out + i, outlen - i, ".sock");
	else
		snprintf(out + i, outlen - i, ".%ld.sock", (long)getpid());
}

static bool
is_socket_file(const char *name)
{
	size_t n = strlen(name);
	return n > 5 && strcmp(name + n - 5, ".sock") == 0;
}

int
status_command(const char *name, bool json)
{
	char *dir = ctlsock_dir(), path[4096], err[512];
	const char *request = json ? "status json\n" : "status\n";
	int found = 0, failed = 0, hung = 0;
	DIR *d;
	struct dirent *e;

	if (dir == NULL) {
		log_error("no running porthole (no XDG_RUNTIME_DIR and no home directory)");
		return 1;
	}
	if (name != NULL) {
		char file[1024];
		/* A profile's socket, or an instance's file name as listed. */
		status_socket_name(name, true, file, sizeof(file));
		snprintf(path, sizeof(path), "%s/%s", dir, is_socket_file(name) ? name : file);
		int rc = ctlsock_query(path, request, stdout, err, sizeof(err));
		if (rc == -2) {
			log_error(
			    "porthole '%s' is running but %s", name, strstr(err, "not answering"));
			free(dir);
			return 1;
		}
		if (rc != 0) {
			log_error("no running porthole named '%s' (%s)", name, err);
			free(dir);
			return 1;
		}
		free(dir);
		return 0;
	}
	if ((d = opendir(dir)) == NULL) {
		log_error("no running porthole (%s: %s)", dir, strerror(errno));
		free(dir);
		return 1;
	}
	if (json)
		fputs("[", stdout);
	while ((e = readdir(d)) != NULL) {
		char *text = NULL;
		size_t len = 0;
		FILE *mem;
		if (!is_socket_file(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((mem = open_memstream(&text, &len)) == NULL)
			break;
		int rc = ctlsock_query(path, request, mem, err, sizeof(err));
		fclose(mem);
		if (rc == -2) {
			/* Alive but silent: that is news, unlike a dead instance's socket. */
			log_error("%s", err);
			hung++;
		} else if (rc == -1) {
			/* An instance that died left its socket: not worth more than a note. */
			log_verbose("%s", err);
			failed++;
		} else {
			if (found++ > 0)
				fputs(json ? "," : "\n", stdout);
			fwrite(text, 1, json && len > 0 && text[len - 1] == '\n' ? len - 1 : len,
			    stdout);
		}
		free(text);
	}
	closedir(d);
	if (json)
		fputs("]\n", stdout);
	free(dir);
	if (found == 0 && hung == 0) {
		log_error("no running porthole");
		return 1;
	}
	return hung > 0 ? 1 : 0;
}
