/*
 * Unit tests for option.c: every keyword -o accepts with good and bad values
 * and their exact messages, the three ways of writing "Keyword value", the
 * IdentityFile limit, port boundaries and LogLevel names. Each case frees its
 * options, so under ASan a leak fails the test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "log.h"
#include "option.h"

static struct options o;
static char err[256];

static int
set(const char *keyword, const char *value)
{
	memset(err, 'Z', sizeof(err) - 1);
	err[sizeof(err) - 1] = '\0';
	return option_set(&o, keyword, value, err, sizeof(err));
}

static int
line(const char *text)
{
	memset(err, 'Z', sizeof(err) - 1);
	err[sizeof(err) - 1] = '\0';
	return option_set_line(&o, text, err, sizeof(err));
}

/* Sets text and shows the reason if it was refused. */
#define CHECK_LINE_OK(text) CHECK_STR(line(text) == 0 ? "" : err, "")

#define CHECK_LINE_ERR(text, reason)                                                               \
	do {                                                                                       \
		CHECK_INT(line(text), -1);                                                         \
		CHECK_STR(err, reason);                                                            \
	} while (0)

static void
test_init(void)
{
	options_init(&o);
	CHECK(o.host == NULL);
	CHECK(o.user == NULL);
	CHECK_INT(o.port, -1);
	CHECK_INT(o.n_identity_files, 0);
	CHECK_INT(o.identities_only, -1);
	CHECK(o.known_hosts == NULL);
	CHECK_INT(o.strict_hostkey, -1);
	CHECK_INT(o.exit_on_forward_failure, -1);
	CHECK_INT(o.gateway_ports, -1);
	CHECK_INT(o.log_level, -1);
	CHECK(o.forwards == NULL);
	CHECK_INT(o.n_forwards, 0);
	options_free(&o);
	/* options_free leaves the struct initialised: freeing twice is safe. */
	options_free(&o);
	CHECK_INT(o.port, -1);
}

static void
test_port(void)
{
	options_init(&o);
	CHECK_INT(set("Port", "2222"), 0);
	CHECK_INT(o.port, 2222);
	CHECK_INT(set("Port", "1"), 0);
	CHECK_INT(o.port, 1);
	CHECK_INT(set("Port", "65535"), 0);
	CHECK_INT(o.port, 65535);
	CHECK_INT(set("Port", "0"), -1);
	CHECK_STR(err, "bad value \'0\' for Port (a port, 1-65535)");
	CHECK_INT(set("Port", "65536"), -1);
	CHECK_STR(err, "bad value \'65536\' for Port (a port, 1-65535)");
	CHECK_INT(set("Port", "ssh"), -1);
	CHECK_STR(err, "bad value \'ssh\' for Port (a port, 1-65535)");
	CHECK_INT(set("port", "-1"), -1);
	CHECK_STR(err, "bad value '-1' for Port (a port, 1-65535)");
	/* A refused value leaves the previous one. */
	CHECK_INT(o.port, 65535);
	options_free(&o);
}

static void
test_user(void)
{
	options_init(&o);
	CHECK_INT(set("User", "alice"), 0);
	CHECK_STR(o.user, "alice");
	CHECK_INT(set("User", "bob"), 0);
	CHECK_STR(o.user, "bob");
	CHECK_INT(set("User", "first.last@example.org"), 0);
	CHECK_STR(o.user, "first.last@example.org");
	options_free(&o);
}

static void
test_identity_file(void)
{
	char name[32];

	options_init(&o);
	CHECK_INT(set("IdentityFile", "~/.ssh/id_ed25519"), 0);
	CHECK_INT(o.n_identity_files, 1);
	CHECK_STR(o.identity_files[0], "~/.ssh/id_ed25519");
	for (int i = 1; i < OPTION_MAX_IDENTITIES; i++) {
		snprintf(name, sizeof(name), "key%d", i);
		CHECK_INT(set("IdentityFile", name), 0);
	}
	CHECK_INT(o.n_identity_files, OPTION_MAX_IDENTITIES);
	CHECK_STR(o.identity_files[OPTION_MAX_IDENTITIES - 1], "key31");
	CHECK_INT(set("IdentityFile", "one-too-many"), -1);
	CHECK_STR(err, "IdentityFile: too many identity files (at most 32)");
	CHECK_INT(o.n_identity_files, OPTION_MAX_IDENTITIES);
	options_free(&o);
	CHECK_INT(o.n_identity_files, 0);
}

static void
test_yesno(void)
{
	options_init(&o);
	CHECK_INT(set("IdentitiesOnly", "yes"), 0);
	CHECK_INT(o.identities_only, 1);
	CHECK_INT(set("IdentitiesOnly", "NO"), 0);
	CHECK_INT(o.identities_only, 0);
	CHECK_INT(set("IdentitiesOnly", "true"), -1);
	CHECK_STR(err, "bad value 'true' for IdentitiesOnly (yes or no)");
	CHECK_INT(o.identities_only, 0);

	CHECK_INT(set("ExitOnForwardFailure", "Yes"), 0);
	CHECK_INT(o.exit_on_forward_failure, 1);
	CHECK_INT(set("ExitOnForwardFailure", "no"), 0);
	CHECK_INT(o.exit_on_forward_failure, 0);
	CHECK_INT(set("ExitOnForwardFailure", "1"), -1);
	CHECK_STR(err, "bad value '1' for ExitOnForwardFailure (yes or no)");

	CHECK_INT(set("GatewayPorts", "yes"), 0);
	CHECK_INT(o.gateway_ports, 1);
	CHECK_INT(set("GatewayPorts", "no"), 0);
	CHECK_INT(o.gateway_ports, 0);
	/* ssh's GatewayPorts has clientspecified on the server side only. */
	CHECK_INT(set("GatewayPorts", "clientspecified"), -1);
	CHECK_STR(err, "bad value 'clientspecified' for GatewayPorts (yes or no)");
	CHECK_INT(set("GatewayPorts", "yess"), -1);
	CHECK_INT(set("GatewayPorts", "ye"), -1);
	CHECK_INT(o.gateway_ports, 0);
	options_free(&o);
}

static void
test_known_hosts(void)
{
	options_init(&o);
	CHECK_INT(set("UserKnownHostsFile", "/tmp/kh"), 0);
	CHECK_STR(o.known_hosts, "/tmp/kh");
	CHECK_INT(set("UserKnownHostsFile", "~/.ssh/other hosts"), 0);
	CHECK_STR(o.known_hosts, "~/.ssh/other hosts");
	options_free(&o);
	CHECK(o.known_hosts == NULL);
}

static void
test_forward_access(void)
{
	options_init(&o);
	CHECK_INT(o.forward_access, -1);
	CHECK_INT(set("ForwardAccess", "any"), 0);
	CHECK_INT(o.forward_access, ACCESS_ANY);
	CHECK_INT(set("forwardaccess", "OWNER"), 0);
	CHECK_INT(o.forward_access, ACCESS_OWNER);
	CHECK_INT(set("ForwardAccess", "yes"), -1);
	CHECK_STR(err, "bad value 'yes' for ForwardAccess (owner or any)");
	CHECK_INT(o.forward_access, ACCESS_OWNER);
	CHECK_INT(set("ForwardAccess", ""), -1);
	options_free(&o);
}

static void
test_open_via(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	options_init(&o);
	CHECK_INT(o.open_via, -1);
	CHECK_INT(option_open_via(&o), OPEN_VIA_AUTO);
	CHECK(!option_is_set(&o, "OpenVia"));
	CHECK_INT(set("OpenVia", "relay"), 0);
	CHECK_INT(o.open_via, OPEN_VIA_RELAY);
	CHECK(option_is_set(&o, "openvia"));
	CHECK_INT(set("openvia", "CHANNEL"), 0);
	CHECK_INT(option_open_via(&o), OPEN_VIA_CHANNEL);
	CHECK_LINE_OK("OpenVia=auto");
	CHECK_INT(o.open_via, OPEN_VIA_AUTO);
	CHECK_LINE_OK("OpenVia relay");
	CHECK_INT(o.open_via, OPEN_VIA_RELAY);
	/* A bad value leaves the last good one. */
	CHECK_INT(set("OpenVia", "stream"), -1);
	CHECK_STR(err, "bad value 'stream' for OpenVia (auto, relay or channel)");
	CHECK_INT(set("OpenVia", "yes"), -1);
	CHECK_INT(set("OpenVia", "relays"), -1);
	CHECK_INT(set("OpenVia", ""), -1);
	CHECK_STR(err, "OpenVia: missing value");
	CHECK_INT(o.open_via, OPEN_VIA_RELAY);
	CHECK_INT(option_parse_open_via("Auto"), OPEN_VIA_AUTO);
	CHECK_INT(option_parse_open_via(""), -1);
	CHECK_STR(option_open_via_name(OPEN_VIA_CHANNEL), "channel");
	/* porthole check's line, the default written out when not set. */
	f = open_memstream(&buf, &len);
	options_print(&o, f);
	fclose(f);
	CHECK(strstr(buf, "\nopenvia relay\n") != NULL);
	free(buf);
	options_free(&o);
	options_init(&o);
	f = open_memstream(&buf, &len);
	options_print(&o, f);
	fclose(f);
	CHECK(strstr(buf, "\nopenvia auto\n") != NULL);
	free(buf);
	/* ConfirmTimeout 0 waits the default 60 s (app.c), and check says so. */
	CHECK_INT(set("ConfirmTimeout", "0"), 0);
	f = open_memstream(&buf, &len);
	options_print(&o, f);
	fclose(f);
	CHECK(strstr(buf, "\nconfirmtimeout 60\n") != NULL);
	free(buf);
	options_free(&o);
}

static void
test_strict(void)
{
	const char *bad_reason =
	    "bad value 'maybe' for StrictHostKeyChecking (yes, accept-new, ask, no or off)";

	options_init(&o);
	CHECK_INT(set("StrictHostKeyChecking", "yes"), 0);
	CHECK_INT(o.strict_hostkey, STRICT_YES);
	CHECK_INT(set("StrictHostKeyChecking", "accept-new"), 0);
	CHECK_INT(o.strict_hostkey, STRICT_ACCEPT_NEW);
	CHECK_INT(set("StrictHostKeyChecking", "ask"), 0);
	CHECK_INT(o.strict_hostkey, STRICT_ASK);
	CHECK_INT(set("StrictHostKeyChecking", "Accept-New"), 0);
	CHECK_INT(o.strict_hostkey, STRICT_ACCEPT_NEW);
	CHECK_INT(set("StrictHostKeyChecking", "YES"), 0);
	CHECK_INT(o.strict_hostkey, STRICT_YES);
	CHECK_INT(set("StrictHostKeyChecking", "true"), 0);
	CHECK_INT(o.strict_hostkey, STRICT_YES);

	/* "no", "off" and "false" (ssh's spellings) are accept-new that says so. */
	CHECK_INT(set("StrictHostKeyChecking", "no"), 0);
	CHECK_INT(o.strict_hostkey, STRICT_NO);
	CHECK_INT(set("StrictHostKeyChecking", "yes"), 0);
	CHECK_INT(set("StrictHostKeyChecking", "OFF"), 0);
	CHECK_INT(o.strict_hostkey, STRICT_NO);
	CHECK_INT(set("StrictHostKeyChecking", "false"), 0);
	CHECK_INT(o.strict_hostkey, STRICT_NO);
	CHECK_INT(set("StrictHostKeyChecking", "yes"), 0);
	CHECK_INT(option_set_line(&o, "StrictHostKeyChecking=no", err, sizeof(err)), 0);
	CHECK_INT(o.strict_hostkey, STRICT_NO);

	CHECK_INT(set("StrictHostKeyChecking", "maybe"), -1);
	CHECK_STR(err, bad_reason);
	CHECK_INT(o.strict_hostkey, STRICT_NO);
	options_free(&o);
}

static void
test_split_words(void)
{
	char *w[4];

	CHECK_INT(option_split_words("a b\tc", w, 4, err, sizeof(err)), 3);
	CHECK_STR(w[0], "a");
	CHECK_STR(w[1], "b");
	CHECK_STR(w[2], "c");
	for (int i = 0; i < 3; i++)
		free(w[i]);
	CHECK_INT(option_split_words("  \"my hosts\" 'x y'z  ", w, 4, err, sizeof(err)), 2);
	CHECK_STR(w[0], "my hosts");
	CHECK_STR(w[1], "x yz");
	free(w[0]);
	free(w[1]);
	CHECK_INT(option_split_words("   ", w, 4, err, sizeof(err)), 0);
	CHECK_INT(option_split_words("a \"b", w, 4, err, sizeof(err)), -1);
	CHECK_STR(err, "unterminated quote in 'a \"b'");
	CHECK_INT(option_split_words("1 2 3 4 5", w, 4, err, sizeof(err)), -1);
	CHECK_STR(err, "more than 4 files");
}

static void
test_host_key_keywords(void)
{
	options_init(&o);
	CHECK_INT(set("GlobalKnownHostsFile", "/etc/a /etc/b"), 0);
	CHECK_STR(o.global_known_hosts, "/etc/a /etc/b");
	CHECK_INT(set("UserKnownHostsFile", "~/k1 \"~/k 2\""), 0);
	CHECK_STR(o.known_hosts, "~/k1 \"~/k 2\"");
	CHECK_INT(set("UserKnownHostsFile", "\"open"), -1);
	CHECK_STR(err, "bad value for UserKnownHostsFile: unterminated quote in '\"open'");
	CHECK_STR(o.known_hosts, "~/k1 \"~/k 2\"");
	CHECK_INT(set("HostKeyAlias", "Build-Box"), 0);
	CHECK_STR(o.host_key_alias, "Build-Box");
	CHECK_INT(o.check_host_ip, -1);
	CHECK_INT(set("CheckHostIP", "yes"), 0);
	CHECK_INT(o.check_host_ip, 1);
	CHECK_INT(set("IdentityAgent", "SSH_AUTH_SOCK"), 0);
	CHECK_STR(o.identity_agent, "SSH_AUTH_SOCK");
	options_free(&o);
	CHECK(o.global_known_hosts == NULL && o.host_key_alias == NULL && o.identity_agent == NULL);
}

static void
test_log_level(void)
{
	static const struct {
		const char *name;
		int level;
	} names[] = {
	    {"QUIET", LOG_QUIET},
	    {"FATAL", LOG_FATAL},
	    {"ERROR", LOG_ERROR},
	    {"INFO", LOG_INFO},
	    {"VERBOSE", LOG_VERBOSE},
	    {"DEBUG", LOG_DEBUG1},
	    {"DEBUG1", LOG_DEBUG1},
	    {"DEBUG2", LOG_DEBUG2},
	    {"DEBUG3", LOG_DEBUG3},
	    {"debug3", LOG_DEBUG3},
	    {"Info", LOG_INFO},
	};

	options_init(&o);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		o.log_level = -1;
		CHECK_INT(option_parse_log_level(names[i].name), names[i].level);
		CHECK_INT(set("LogLevel", names[i].name), 0);
		CHECK_INT(o.log_level, names[i].level);
	}
	CHECK_INT(option_parse_log_level("DEBUG4"), -1);
	CHECK_INT(option_parse_log_level(""), -1);
	CHECK_INT(option_parse_log_level("3"), -1);
	CHECK_INT(set("LogLevel", "LOUD"), -1);
	CHECK_STR(err,
	    "bad value 'LOUD' for LogLevel (QUIET, FATAL, ERROR, INFO, VERBOSE, DEBUG, "
	    "DEBUG1, DEBUG2, DEBUG3)");
	CHECK_INT(o.log_level, LOG_INFO);
	options_free(&o);
}

static void
test_local_forward(void)
{
	options_init(&o);
	CHECK_INT(set("LocalForward", "8080:intranet:80"), 0);
	CHECK_INT(o.n_forwards, 1);
	CHECK_INT(o.forwards[0].kind, FWD_LOCAL);
	CHECK_INT(o.forwards[0].bind_port, 8080);
	CHECK_STR(o.forwards[0].host, "intranet");
	CHECK_INT(o.forwards[0].host_port, 80);
	CHECK_LINE_OK("LocalForward [::1]:8443:[fe80::1]:443");
	CHECK_INT(o.n_forwards, 2);
	CHECK_STR(o.forwards[1].bind_host, "::1");
	CHECK_STR(o.forwards[1].host, "fe80::1");
	/* ssh_config's two words, listen and target, are accepted too. */
	CHECK_INT(set("LocalForward", "9090 intranet:90"), 0);
	CHECK_INT(o.n_forwards, 3);
	CHECK_INT(o.forwards[2].bind_port, 9090);
	CHECK_STR(o.forwards[2].host, "intranet");
	CHECK_INT(o.forwards[2].host_port, 90);
	CHECK_LINE_OK("LocalForward [::1]:9091 \t [fe80::2]:91");
	CHECK_INT(o.n_forwards, 4);
	CHECK_STR(o.forwards[3].bind_host, "::1");
	CHECK_INT(o.forwards[3].bind_port, 9091);
	CHECK_STR(o.forwards[3].host, "fe80::2");
	CHECK_INT(o.forwards[3].host_port, 91);
	CHECK_LINE_OK("LocalForward=127.0.0.2:9092 h:92");
	CHECK_INT(o.n_forwards, 5);
	CHECK_STR(o.forwards[4].bind_host, "127.0.0.2");
	CHECK_INT(set("LocalForward", "9093 h:93 extra"), -1);
	CHECK_INT(set("LocalForward", "9093 "), -1);
	CHECK_STR(err, "-L 9093:: expected [bind_address:]port:host:hostport");
	CHECK_INT(set("LocalForward", "99999 x:80"), -1);
	CHECK_STR(err, "-L 99999:x:80: port out of range (1-65535)");
	CHECK_INT(set("LocalForward", "99999:x:80"), -1);
	CHECK_STR(err, "-L 99999:x:80: port out of range (1-65535)");
	CHECK_INT(set("LocalForward", "8080:h:53/udp"), 0);
	CHECK(o.forwards[5].udp);
	CHECK_INT(o.n_forwards, 6);
	options_free(&o);
	CHECK(o.forwards == NULL);
	CHECK_INT(o.n_forwards, 0);

	options_init(&o);
	CHECK_INT(option_add_forward(&o, FWD_REMOTE, "8080:h:80", err, sizeof(err)), 0);
	CHECK_INT(o.forwards[0].kind, FWD_REMOTE);
	CHECK_INT(option_add_forward(&o, FWD_REMOTE, "0:localhost:22", err, sizeof(err)), 0);
	CHECK_INT(o.forwards[1].bind_port, 0);
	CHECK_INT(option_add_forward(&o, FWD_DYNAMIC, "1080", err, sizeof(err)), 0);
	CHECK_INT(o.forwards[2].kind, FWD_DYNAMIC);
	CHECK_INT(option_add_forward(&o, FWD_DYNAMIC, "x", err, sizeof(err)), -1);
	CHECK_STR(err, "-D x: bad port 'x'");
	CHECK_INT(option_add_forward(&o, FWD_REMOTE, "53:h:53/udp", err, sizeof(err)), 0);
	CHECK(o.forwards[3].udp);
	CHECK_INT(set("RemoteForward", "8080 localhost:80"), 0);
	CHECK_INT(o.forwards[4].bind_port, 8080);
	CHECK_STR(o.forwards[4].host, "localhost");
	CHECK_INT(set("DynamicForward", "[::1]:1080"), 0);
	CHECK_STR(o.forwards[5].bind_host, "::1");
	CHECK_INT(set("RemoteForward", "3283 localhost:3283/udp"), 0);
	CHECK(o.forwards[6].udp);
	CHECK_INT(o.n_forwards, 7);
	options_free(&o);
}

static void
test_keyword_case(void)
{
	options_init(&o);
	CHECK_INT(set("port", "22"), 0);
	CHECK_INT(set("PORT", "23"), 0);
	CHECK_INT(o.port, 23);
	CHECK_INT(set("uSeR", "u"), 0);
	CHECK_STR(o.user, "u");
	CHECK_INT(set("identityfile", "k"), 0);
	CHECK_INT(set("IDENTITIESONLY", "yes"), 0);
	CHECK_INT(set("userknownhostsfile", "kh"), 0);
	CHECK_INT(set("stricthostkeychecking", "ask"), 0);
	CHECK_INT(set("exitonforwardfailure", "yes"), 0);
	CHECK_INT(set("gatewayports", "yes"), 0);
	CHECK_INT(set("loglevel", "debug2"), 0);
	CHECK_INT(set("localforward", "1:h:2"), 0);
	CHECK_INT(o.n_identity_files, 1);
	CHECK_INT(o.identities_only, 1);
	CHECK_STR(o.known_hosts, "kh");
	CHECK_INT(o.strict_hostkey, STRICT_ASK);
	CHECK_INT(o.exit_on_forward_failure, 1);
	CHECK_INT(o.gateway_ports, 1);
	CHECK_INT(o.log_level, LOG_DEBUG2);
	CHECK_INT(o.n_forwards, 1);
	options_free(&o);
}

static void
test_later_keywords(void)
{
	int i = 0;

	options_init(&o);
	CHECK_INT(set("HostName", "jump.example"), 0);
	CHECK_STR(o.host_name, "jump.example");
	CHECK_INT(set("ServerAliveInterval", "30"), 0);
	CHECK_INT(o.server_alive_interval, 30);
	CHECK_INT(set("ServerAliveInterval", "1m30s"), 0);
	CHECK_INT(o.server_alive_interval, 90);
	CHECK_INT(set("ServerAliveInterval", "0"), 0);
	CHECK_INT(o.server_alive_interval, 0);
	CHECK_INT(set("ServerAliveInterval", "soon"), -1);
	CHECK_STR(err, "bad value 'soon' for ServerAliveInterval (seconds, e.g. 30, 90s, 5m)");
	CHECK_INT(set("ServerAliveCountMax", "0"), -1);
	CHECK_STR(err, "bad value '0' for ServerAliveCountMax (a number, 1 or more)");
	CHECK_INT(set("ServerAliveCountMax", "5"), 0);
	CHECK_INT(o.server_alive_count_max, 5);
	CHECK_INT(set("Reconnect", "maybe"), -1);
	CHECK_STR(err, "bad value 'maybe' for Reconnect (yes or no)");
	CHECK_INT(set("Reconnect", "yes"), 0);
	CHECK_INT(o.reconnect, 1);
	CHECK_INT(set("ReconnectMaxDelay", "2m"), 0);
	CHECK_INT(o.reconnect_max_delay, 120);
	CHECK_INT(o.connection_wait, -1);
	CHECK_INT(set("ConnectionWait", "2"), 0);
	CHECK_INT(o.connection_wait, 2);
	CHECK_INT(set("connectionwait", "0"), 0);
	CHECK_INT(o.connection_wait, 0);
	CHECK_INT(set("ConnectionWait", "soon"), -1);
	CHECK_INT(set("UdpIdleTimeout", "45"), 0);
	CHECK_INT(set("UdpMaxFlows", "256"), 0);
	CHECK_INT(o.udp_max_flows, 256);
	CHECK_INT(set("UdpMaxFlows", "-3"), -1);
	CHECK_INT(set("RelayCommand", "/usr/local/bin/porthole relay"), 0);
	CHECK_STR(o.relay_command, "/usr/local/bin/porthole relay");
	CHECK_INT(set("ControlPath", "~/.porthole.sock"), 0);
	CHECK_INT(set("Compression", "no"), 0);
	CHECK_INT(set("ProxyJump", "me@bastion"), 0);
	CHECK_STR(o.proxy_jump, "me@bastion");
	CHECK_INT(set("ProxyJump", "a,,b"), -1);
	CHECK_STR(err, "ProxyJump: bad jump host '' (expected [user@]host[:port])");
	CHECK_STR(o.proxy_jump, "me@bastion");
	CHECK_INT(set("ProxyCommand", "nc %h %p"), 0);
	CHECK_STR(o.proxy_command, "nc %h %p");
	/* What is set but not built yet, in table order. */
	CHECK(option_unsupported(&o, &i) == NULL);
	options_free(&o);
	i = 0;
	CHECK(option_unsupported(&o, &i) == NULL);
	CHECK_INT(option_parse_seconds("1h"), 3600);
	CHECK_INT(option_parse_seconds("1h30m10"), 5410);
	CHECK_INT(option_parse_seconds("m"), -1);
	CHECK_INT(option_parse_seconds(""), -1);
	CHECK_INT(option_parse_seconds("99999999999"), -1);
	CHECK_STR(option_keyword(0), "HostName");
	CHECK(option_keyword(1000) == NULL);
}

static void
test_unknown_and_missing(void)
{
	options_init(&o);
	CHECK_INT(set("Bogus", "1"), -1);
	CHECK_STR(err, "unknown keyword 'Bogus'");
	CHECK_INT(set("Host", "h"), -1);
	CHECK_STR(err, "Host belongs in an ssh_config file, not here");
	/* ssh keywords porthole does not implement: said so, distinct from a misspelling. */
	CHECK_INT(set("ControlMaster", "auto"), -1);
	CHECK_STR(err,
	    "ControlMaster is an ssh keyword porthole does not implement (see "
	    "porthole.conf(5))");
	CHECK_INT(set("controlmaster", "no"), 0); /* changes nothing */
	CHECK_INT(set("ForwardAgent", "yes"), -1);
	CHECK_INT(set("SendEnv", "LANG LC_*"), 0); /* no effect on forwarding */
	CHECK_INT(set("ForwardX11", "maybe"), -1);
	CHECK_STR(err, "ForwardX11: bad value 'maybe' (yes or no)");
	CHECK_INT(set("RequestTTY", "no"), 0);
	CHECK_INT(set("IdentityFile", "~/.ssh/id_%x"), -1);
	CHECK_STR(err, "bad value '~/.ssh/id_%x' for IdentityFile: unknown token %x");
	CHECK_INT(set("UserKnownHostsFile", "${HOME"), -1);
	CHECK_STR(err, "bad value '${HOME' for UserKnownHostsFile: '${' without '}'");
	CHECK_INT(set("CertificateFile", "~/.ssh/%r@%h-cert.pub"), 0);
	CHECK_INT(set("ControlMastr", "no"), -1);
	CHECK_STR(err, "unknown keyword 'ControlMastr'");
	CHECK_INT(set("Port2", "22"), -1);
	CHECK_STR(err, "unknown keyword 'Port2'");
	CHECK_INT(set("Por", "22"), -1);
	CHECK_STR(err, "unknown keyword 'Por'");
	/* An unknown keyword is named as such even with no value. */
	CHECK_INT(set("Bogus", ""), -1);
	CHECK_STR(err, "unknown keyword 'Bogus'");
	CHECK_LINE_ERR("Bogus", "unknown keyword 'Bogus'");

	CHECK_INT(set("Port", ""), -1);
	CHECK_STR(err, "Port: missing value");
	CHECK_INT(set("User", ""), -1);
	CHECK_STR(err, "User: missing value");
	CHECK(o.user == NULL);
	CHECK_INT(set("IdentityFile", ""), -1);
	CHECK_STR(err, "IdentityFile: missing value");
	CHECK_INT(o.n_identity_files, 0);
	CHECK_INT(set("LocalForward", ""), -1);
	CHECK_STR(err, "LocalForward: missing value");
	CHECK_LINE_ERR("Port", "Port: missing value");
	CHECK_LINE_ERR("Port=", "Port: missing value");
	CHECK_LINE_ERR("Port =  ", "Port: missing value");
	CHECK_LINE_ERR("loglevel\t", "loglevel: missing value");
	options_free(&o);
}

static void
test_line_forms(void)
{
	char longkw[80];

	options_init(&o);
	CHECK_LINE_OK("Port=2201");
	CHECK_INT(o.port, 2201);
	CHECK_LINE_OK("Port 2202");
	CHECK_INT(o.port, 2202);
	CHECK_LINE_OK("Port = 2203");
	CHECK_INT(o.port, 2203);
	CHECK_LINE_OK("Port\t=\t2204");
	CHECK_INT(o.port, 2204);
	CHECK_LINE_OK("Port  2205");
	CHECK_INT(o.port, 2205);
	CHECK_LINE_OK("Port= 2206");
	CHECK_INT(o.port, 2206);
	CHECK_LINE_OK("User=a b");
	CHECK_STR(o.user, "a b");
	CHECK_LINE_OK("User = x=y");
	CHECK_STR(o.user, "x=y");
	CHECK_LINE_OK("IdentityFile=~/.ssh/id_rsa");
	CHECK_STR(o.identity_files[0], "~/.ssh/id_rsa");
	CHECK_LINE_OK("StrictHostKeyChecking accept-new");
	CHECK_INT(o.strict_hostkey, STRICT_ACCEPT_NEW);

	/* Only one '=' separates: a second one is part of the value. */
	CHECK_LINE_ERR("Port==22", "bad value \'=22\' for Port (a port, 1-65535)");
	CHECK_LINE_ERR("Port 22 23", "bad value \'22 23\' for Port (a port, 1-65535)");
	CHECK_LINE_ERR("Port=x", "bad value \'x\' for Port (a port, 1-65535)");
	CHECK_LINE_ERR("Bogus=1", "unknown keyword 'Bogus'");
	CHECK_LINE_ERR("Bogus value", "unknown keyword 'Bogus'");
	CHECK_LINE_ERR("", "bad option '' (expected Keyword=value)");
	CHECK_LINE_ERR("=22", "bad option '=22' (expected Keyword=value)");
	CHECK_LINE_ERR(" Port=22", "bad option ' Port=22' (expected Keyword=value)");

	/* Keywords are at most 63 characters; longer is a bad option, not an overflow. */
	memset(longkw, 'K', 63);
	strcpy(longkw + 63, "=1");
	CHECK_INT(line(longkw), -1);
	CHECK_STR(err,
	    "unknown keyword 'KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK'");
	memset(longkw, 'K', 64);
	strcpy(longkw + 64, "=1");
	CHECK_INT(line(longkw), -1);
	CHECK(strncmp(err, "bad option 'KKKK", 16) == 0);
	CHECK_INT(o.port, 2206);
	options_free(&o);
}

static void
test_parse_port(void)
{
	CHECK_INT(option_parse_port("1"), 1);
	CHECK_INT(option_parse_port("22"), 22);
	CHECK_INT(option_parse_port("65535"), 65535);
	CHECK_INT(option_parse_port("065535"), 65535);
	CHECK_INT(option_parse_port("0000000000000000000001"), 1);
	CHECK_INT(option_parse_port("0"), -1);
	CHECK_INT(option_parse_port("00"), -1);
	CHECK_INT(option_parse_port("65536"), -1);
	CHECK_INT(option_parse_port("99999"), -1);
	CHECK_INT(option_parse_port("4294967318"), -1);
	CHECK_INT(option_parse_port("18446744073709551638"), -1);
	CHECK_INT(option_parse_port(""), -1);
	CHECK_INT(option_parse_port("-1"), -1);
	CHECK_INT(option_parse_port("+22"), -1);
	CHECK_INT(option_parse_port(" 22"), -1);
	CHECK_INT(option_parse_port("22 "), -1);
	CHECK_INT(option_parse_port("0x16"), -1);
	CHECK_INT(option_parse_port("22a"), -1);
}

static void
test_small_err(void)
{
	char small[8];

	options_init(&o);
	memset(small, 'Z', sizeof(small));
	CHECK_INT(option_set(&o, "Bogus", "1", small, 5), -1);
	CHECK_STR(small, "unkn");
	CHECK_INT(small[5], 'Z');
	memset(small, 'Z', sizeof(small));
	CHECK_INT(option_set(&o, "Port", "x", small, 0), -1);
	CHECK_INT(small[0], 'Z');
	CHECK_INT(option_set_line(&o, "=", NULL, 0), -1);
	options_free(&o);
}

static void
test_presence(void)
{
	char host[16];
	int port = 0;

	options_init(&o);
	CHECK_INT(set("PresenceListen", "5999"), 0);
	CHECK_STR(o.presence_listen, "5999");
	CHECK_INT(set("presencecheck", "localhost:5999"), 0);
	CHECK_STR(o.presence_check, "localhost:5999");
	CHECK_INT(set("PresenceCheck", "0"), -1);
	CHECK_STR(err, "bad value '0' for PresenceCheck: not a port (1-65535)");
	CHECK_STR(o.presence_check, "localhost:5999");
	CHECK_INT(set("PresenceListen", "::1:5999"), -1);
	CHECK_STR(err,
	    "bad value '::1:5999' for PresenceListen: an IPv6 address needs brackets: "
	    "[address]:port");
	CHECK_INT(set("PresenceListen", ":5999"), -1);
	CHECK_STR(err, "bad value ':5999' for PresenceListen: empty host before ':'");
	CHECK_INT(set("PresenceListen", "[::1]5999"), -1);
	CHECK_STR(err,
	    "bad value '[::1]5999' for PresenceListen: '[' without ']:port' (write "
	    "[address]:port)");
	CHECK(option_is_set(&o, "PresenceListen"));
	options_free(&o);

	CHECK_INT(option_parse_hostport("7000", host, sizeof(host), &port, err, sizeof(err)), 0);
	CHECK_STR(host, "");
	CHECK_INT(port, 7000);
	CHECK_INT(
	    option_parse_hostport("[::1]:7001", host, sizeof(host), &port, err, sizeof(err)), 0);
	CHECK_STR(host, "::1");
	CHECK_INT(port, 7001);
	CHECK_INT(
	    option_parse_hostport("127.0.0.1:65535", host, sizeof(host), &port, err, sizeof(err)),
	    0);
	CHECK_STR(host, "127.0.0.1");
	CHECK_INT(port, 65535);
	CHECK_INT(option_parse_hostport(
		      "a-very-long-host-name:1", host, sizeof(host), &port, err, sizeof(err)),
	    -1);
	CHECK_STR(err, "host name too long");
	CHECK_INT(option_parse_hostport("[]:1", host, sizeof(host), &port, err, sizeof(err)), -1);
	CHECK_STR(err, "empty host before ':'");
	CHECK_INT(option_parse_hostport("h:", host, sizeof(host), &port, err, sizeof(err)), -1);
	CHECK_STR(err, "not a port (1-65535)");
}

int
main(void)
{
	test_presence();
	test_init();
	test_port();
	test_user();
	test_identity_file();
	test_yesno();
	test_known_hosts();
	test_strict();
	test_forward_access();
	test_open_via();
	test_split_words();
	test_host_key_keywords();
	test_log_level();
	test_local_forward();
	test_keyword_case();
	test_later_keywords();
	test_unknown_and_missing();
	test_line_forms();
	test_parse_port();
	test_small_err();
	return check_done("option");
}
