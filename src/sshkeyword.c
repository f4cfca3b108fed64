/*
 * The ssh_config keyword table (see sshkeyword.h) and the value checks of
 * readconf.c's process_config_line: what ssh refuses, porthole refuses, in
 * every block, applying or not, so a file ssh reads is a file porthole reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sshkeyword.h"
#include "token.h"

#define PE (TOKEN_PERCENT | TOKEN_ENV)
#define P TOKEN_PERCENT
#define DEF TOKEN_DEFAULT_SET
#define FLAGS "yes,no,true,false"

/* Shorthands for the table's columns. */
#define APPLY(name, args, check)                                                                   \
	{                                                                                          \
		name, args, check, SSHKW_APPLY, false, NULL, 0, NULL, NULL, NULL                   \
	}
#define SILENT(name, args, check, choices)                                                         \
	{                                                                                          \
		name, args, check, SSHKW_SILENT, false, choices, 0, NULL, NULL, NULL               \
	}
#define WARN(name, args, check, choices, harmless)                                                 \
	{                                                                                          \
		name, args, check, SSHKW_WARN, false, choices, 0, NULL, harmless, NULL             \
	}
#define ALIAS(name, args, check, what, canonical)                                                  \
	{                                                                                          \
		name, args, check, what, false, NULL, 0, NULL, NULL, canonical                     \
	}

static const struct sshkw table[] = {
    {"Host", SSHKW_NONE_OK, SSHKW_STRING, SSHKW_BLOCK, false, NULL, 0, NULL, NULL, NULL},
    {"Match", SSHKW_NONE_OK, SSHKW_STRING, SSHKW_BLOCK, false, NULL, 0, NULL, NULL, NULL},
    {"Include", SSHKW_NONE_OK, SSHKW_STRING, SSHKW_BLOCK, false, NULL, 0, NULL, NULL, NULL},
    {"IgnoreUnknown", SSHKW_ONE, SSHKW_STRING, SSHKW_BLOCK, false, NULL, 0, NULL, NULL, NULL},

    /* What porthole does (option.c has these; the class is the fallback). */
    {"HostName", SSHKW_ONE, SSHKW_STRING, SSHKW_APPLY, false, NULL, P, "h", NULL, NULL},
    APPLY("Port", SSHKW_ONE, SSHKW_PORT),
    APPLY("User", SSHKW_ONE, SSHKW_STRING),
    {"IdentityFile", SSHKW_ONE, SSHKW_STRING, SSHKW_APPLY, true, NULL, PE, DEF, NULL, NULL},
    {"CertificateFile", SSHKW_ONE, SSHKW_STRING, SSHKW_APPLY, true, NULL, PE, DEF, NULL, NULL},
    {"IdentitiesOnly", SSHKW_ONE, SSHKW_FLAG, SSHKW_WARN, false, NULL, 0, NULL, "no,false", NULL},
    {"UserKnownHostsFile", SSHKW_LIST, SSHKW_FILES, SSHKW_APPLY, false, NULL, PE, DEF, NULL, NULL},
    {"StrictHostKeyChecking", SSHKW_ONE, SSHKW_CHOICE, SSHKW_WARN, false,
	"yes,no,true,false,ask,off,accept-new", 0, NULL, "yes,true,ask", NULL},
    {"LocalForward", SSHKW_LIST, SSHKW_LOCALFWD, SSHKW_APPLY, true, NULL, 0, NULL, NULL, NULL},
    {"RemoteForward", SSHKW_LIST, SSHKW_REMOTEFWD, SSHKW_APPLY, true, NULL, 0, NULL, NULL, NULL},
    {"DynamicForward", SSHKW_ONE, SSHKW_DYNAMICFWD, SSHKW_APPLY, true, NULL, 0, NULL, NULL, NULL},
    APPLY("ServerAliveInterval", SSHKW_ONE, SSHKW_TIME),
    APPLY("ServerAliveCountMax", SSHKW_ONE, SSHKW_INT),
    APPLY("ExitOnForwardFailure", SSHKW_ONE, SSHKW_FLAG),
    APPLY("GatewayPorts", SSHKW_ONE, SSHKW_FLAG),
    {"Compression", SSHKW_ONE, SSHKW_CHOICE, SSHKW_SILENT, false, "yes,no", 0, NULL, NULL, NULL},
    APPLY("LogLevel", SSHKW_ONE, SSHKW_LOGLEVEL),
    APPLY("KexAlgorithms", SSHKW_ONE, SSHKW_STRING),
    APPLY("HostKeyAlgorithms", SSHKW_ONE, SSHKW_STRING),
    APPLY("Ciphers", SSHKW_ONE, SSHKW_STRING),
    APPLY("MACs", SSHKW_ONE, SSHKW_STRING),
    {"ProxyJump", SSHKW_REST, SSHKW_STRING, SSHKW_APPLY, false, NULL, P, "hnpr", NULL, NULL},
    {"ProxyCommand", SSHKW_REST, SSHKW_STRING, SSHKW_APPLY, false, NULL, P, "hnpr", "none", NULL},
    {"ControlPath", SSHKW_ONE, SSHKW_STRING, SSHKW_OWN, false, NULL, PE, DEF, NULL, NULL},

    /* Being built by others now, or later: a warning until option.c knows them. */
    WARN("BatchMode", SSHKW_ONE, SSHKW_FLAG, NULL, "no,false"),
    WARN("ConnectTimeout", SSHKW_ONE, SSHKW_TIME, NULL, "none"),
    WARN("ConnectionAttempts", SSHKW_ONE, SSHKW_INT, NULL, "1"),
    WARN("AddressFamily", SSHKW_ONE, SSHKW_CHOICE, "inet,inet6,any", "any"),
    WARN("BindAddress", SSHKW_ONE, SSHKW_STRING, NULL, NULL),
    WARN("BindInterface", SSHKW_ONE, SSHKW_STRING, NULL, NULL),
    {"IdentityAgent", SSHKW_ONE, SSHKW_AGENT, SSHKW_WARN, false, NULL, PE, DEF, "SSH_AUTH_SOCK",
	NULL},
    WARN("HostKeyAlias", SSHKW_ONE, SSHKW_STRING, NULL, NULL),
    {"GlobalKnownHostsFile", SSHKW_LIST, SSHKW_FILES, SSHKW_WARN, false, NULL, 0, NULL,
	"/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2", NULL},
    WARN("CheckHostIP", SSHKW_ONE, SSHKW_FLAG, NULL, "no,false"),
    WARN("ForkAfterAuthentication", SSHKW_ONE, SSHKW_FLAG, NULL, "no,false"),
    WARN("ClearAllForwardings", SSHKW_ONE, SSHKW_FLAG, NULL, "no,false"),

    /* Would change what ssh does; porthole does not do it. */
    WARN("AddKeysToAgent", SSHKW_ONE_TWO, SSHKW_STRING, NULL, "no,false"),
    WARN("CanonicalizeHostname", SSHKW_ONE, SSHKW_CHOICE, "yes,no,true,false,always", "no,false"),
    WARN("CanonicalizePermittedCNAMEs", SSHKW_LIST, SSHKW_STRING, NULL, "none"),
    WARN("CASignatureAlgorithms", SSHKW_ONE, SSHKW_STRING, NULL, NULL),
    WARN("ChannelTimeout", SSHKW_LIST, SSHKW_STRING, NULL, "none"),
    WARN(
	"ControlMaster", SSHKW_ONE, SSHKW_CHOICE, "yes,no,true,false,auto,ask,autoask", "no,false"),
    WARN("ControlPersist", SSHKW_ONE, SSHKW_CONTROLPERSIST, NULL, "no,false"),
    {"ForwardAgent", SSHKW_ONE, SSHKW_AGENT, SSHKW_WARN, false, NULL, PE, DEF, "no,false", NULL},
    WARN("GSSAPIAuthentication", SSHKW_ONE, SSHKW_FLAG, NULL, "no,false"),
    WARN("GSSAPIDelegateCredentials", SSHKW_ONE, SSHKW_FLAG, NULL, "no,false"),
    WARN("GSSAPIKeyExchange", SSHKW_ONE, SSHKW_FLAG, NULL, "no,false"),
    WARN("GSSAPIClientIdentity", SSHKW_ONE, SSHKW_STRING, NULL, NULL),
    WARN("GSSAPIServerIdentity", SSHKW_ONE, SSHKW_STRING, NULL, NULL),
    SILENT("GSSAPIRenewalForcesRekey", SSHKW_ONE, SSHKW_FLAG, NULL),
    SILENT("GSSAPITrustDns", SSHKW_ONE, SSHKW_FLAG, NULL),
    SILENT("GSSAPIKexAlgorithms", SSHKW_ONE, SSHKW_STRING, NULL),
    WARN("HashKnownHosts", SSHKW_ONE, SSHKW_FLAG, NULL, "no,false"),
    WARN("HostbasedAuthentication", SSHKW_ONE, SSHKW_FLAG, NULL, "no,false"),
    {"KnownHostsCommand", SSHKW_REST, SSHKW_STRING, SSHKW_WARN, false, NULL, PE, DEF "fHIKt",
	"none", NULL},
    {"LocalCommand", SSHKW_REST, SSHKW_STRING, SSHKW_WARN, false, NULL, P, DEF "fHIKtT", NULL,
	NULL},
    WARN("NoHostAuthenticationForLocalhost", SSHKW_ONE, SSHKW_FLAG, NULL, "no,false"),
    WARN("PasswordAuthentication", SSHKW_ONE, SSHKW_FLAG, NULL, "yes,true"),
    WARN("KbdInteractiveAuthentication", SSHKW_ONE, SSHKW_FLAG, NULL, "yes,true"),
    WARN("PermitLocalCommand", SSHKW_ONE, SSHKW_FLAG, NULL, "no,false"),
    WARN("PermitRemoteOpen", SSHKW_LIST, SSHKW_STRING, NULL, "any"),
    WARN("PKCS11Provider", SSHKW_ONE, SSHKW_STRING, NULL, "none"),
    WARN("PreferredAuthentications", SSHKW_ONE, SSHKW_STRING, NULL, NULL),
    WARN("PubkeyAcceptedAlgorithms", SSHKW_ONE, SSHKW_STRING, NULL, NULL),
    WARN("PubkeyAuthentication", SSHKW_ONE, SSHKW_CHOICE, "yes,no,true,false,unbound,host-bound",
	"yes,true,unbound,host-bound"),
    WARN("RefuseConnection", SSHKW_ONE, SSHKW_FLAG, NULL, "no,false"),
    {"RemoteCommand", SSHKW_REST, SSHKW_STRING, SSHKW_WARN, false, NULL, P, DEF, "none", NULL},
    WARN("RequiredRSASize", SSHKW_ONE, SSHKW_INT, NULL, NULL),
    WARN("RevokedHostKeys", SSHKW_ONE, SSHKW_STRING, NULL, "none"),
    WARN("SecurityKeyProvider", SSHKW_ONE, SSHKW_STRING, NULL, "internal"),
    WARN(
	"Tunnel", SSHKW_ONE, SSHKW_CHOICE, "yes,no,true,false,ethernet,point-to-point", "no,false"),
    WARN("UpdateHostKeys", SSHKW_ONE, SSHKW_CHOICE, "yes,no,true,false,ask", "no,false"),
    WARN("VerifyHostKeyDNS", SSHKW_ONE, SSHKW_CHOICE, "yes,no,true,false,ask", "no,false"),

    /* No effect on forwarding. */
    SILENT("CanonicalDomains", SSHKW_LIST, SSHKW_STRING, NULL),
    SILENT("CanonicalizeFallbackLocal", SSHKW_ONE, SSHKW_FLAG, NULL),
    SILENT("CanonicalizeMaxDots", SSHKW_ONE, SSHKW_INT, NULL),
    SILENT("EnableEscapeCommandline", SSHKW_ONE, SSHKW_FLAG, NULL),
    SILENT("EnableSSHKeysign", SSHKW_ONE, SSHKW_FLAG, NULL),
    SILENT("EscapeChar", SSHKW_ONE, SSHKW_ESCAPECHAR, NULL),
    SILENT("FingerprintHash", SSHKW_ONE, SSHKW_CHOICE, "md5,sha256"),
    SILENT("ForwardX11", SSHKW_ONE, SSHKW_FLAG, NULL),
    SILENT("ForwardX11Timeout", SSHKW_ONE, SSHKW_TIME, NULL),
    SILENT("ForwardX11Trusted", SSHKW_ONE, SSHKW_FLAG, NULL),
    SILENT("HostbasedAcceptedAlgorithms", SSHKW_ONE, SSHKW_STRING, NULL),
    SILENT("IPQoS", SSHKW_ONE_TWO, SSHKW_STRING, NULL),
    SILENT("KbdInteractiveDevices", SSHKW_ONE, SSHKW_STRING, NULL),
    SILENT("LogVerbose", SSHKW_LIST, SSHKW_STRING, NULL),
    SILENT("NumberOfPasswordPrompts", SSHKW_ONE, SSHKW_INT, NULL),
    SILENT("ObscureKeystrokeTiming", SSHKW_ONE, SSHKW_STRING, NULL),
    SILENT("ProxyUseFdpass", SSHKW_ONE, SSHKW_FLAG, NULL),
    SILENT("RekeyLimit", SSHKW_ONE_TWO, SSHKW_STRING, NULL),
    SILENT("RequestTTY", SSHKW_ONE, SSHKW_CHOICE, "yes,no,true,false,force,auto"),
    {"SendEnv", SSHKW_LIST, SSHKW_ENVNAME, SSHKW_SILENT, true, NULL, 0, NULL, NULL, NULL},
    SILENT("SessionType", SSHKW_ONE, SSHKW_CHOICE, "none,subsystem,default"),
    {"SetEnv", SSHKW_LIST, SSHKW_SETENV, SSHKW_SILENT, false, NULL, 0, NULL, NULL, NULL},
    SILENT("StdinNull", SSHKW_ONE, SSHKW_FLAG, NULL),
    SILENT("StreamLocalBindMask", SSHKW_ONE, SSHKW_MASK, NULL),
    SILENT("StreamLocalBindUnlink", SSHKW_ONE, SSHKW_FLAG, NULL),
    SILENT("SyslogFacility", SSHKW_ONE, SSHKW_CHOICE,
	"daemon,user,auth,authpriv,local0,local1,local2,local3,local4,local5,local6,local7"),
    SILENT("Tag", SSHKW_ONE, SSHKW_STRING, NULL),
    SILENT("TCPKeepAlive", SSHKW_ONE, SSHKW_FLAG, NULL),
    SILENT("TunnelDevice", SSHKW_ONE, SSHKW_STRING, NULL),
    SILENT("VersionAddendum", SSHKW_REST, SSHKW_STRING, NULL),
    SILENT("VisualHostKey", SSHKW_ONE, SSHKW_FLAG, NULL),
    SILENT("WarnWeakCrypto", SSHKW_ONE, SSHKW_STRING, NULL),
    SILENT("XAuthLocation", SSHKW_ONE, SSHKW_STRING, NULL),

    /* Old names readconf still takes, for the keyword they stand for. */
    ALIAS("IdentityFile2", SSHKW_ONE, SSHKW_STRING, SSHKW_APPLY, "IdentityFile"),
    ALIAS("KeepAlive", SSHKW_ONE, SSHKW_FLAG, SSHKW_SILENT, "TCPKeepAlive"),
    ALIAS("ChallengeResponseAuthentication", SSHKW_ONE, SSHKW_FLAG, SSHKW_SILENT,
	"KbdInteractiveAuthentication"),
    ALIAS(
	"SKeyAuthentication", SSHKW_ONE, SSHKW_FLAG, SSHKW_SILENT, "KbdInteractiveAuthentication"),
    ALIAS("TISAuthentication", SSHKW_ONE, SSHKW_FLAG, SSHKW_SILENT, "KbdInteractiveAuthentication"),
    ALIAS("DSAAuthentication", SSHKW_ONE, SSHKW_STRING, SSHKW_SILENT, "PubkeyAuthentication"),
    ALIAS(
	"HostbasedKeyTypes", SSHKW_ONE, SSHKW_STRING, SSHKW_SILENT, "HostbasedAcceptedAlgorithms"),
    ALIAS(
	"PubkeyAcceptedKeyTypes", SSHKW_ONE, SSHKW_STRING, SSHKW_WARN, "PubkeyAcceptedAlgorithms"),
    ALIAS("SmartcardDevice", SSHKW_ONE, SSHKW_STRING, SSHKW_WARN, "PKCS11Provider"),
    /* Deprecated or unsupported by ssh itself: read and ignored, as ssh does. */
    SILENT("Protocol", SSHKW_REST, SSHKW_STRING, NULL),
    SILENT("Cipher", SSHKW_REST, SSHKW_STRING, NULL),
    SILENT("FallBackToRsh", SSHKW_REST, SSHKW_STRING, NULL),
    SILENT("GlobalKnownHostsFile2", SSHKW_REST, SSHKW_STRING, NULL),
    SILENT("RhostsAuthentication", SSHKW_REST, SSHKW_STRING, NULL),
    SILENT("UserKnownHostsFile2", SSHKW_REST, SSHKW_STRING, NULL),
    SILENT("UseRoaming", SSHKW_REST, SSHKW_STRING, NULL),
    SILENT("UseRsh", SSHKW_REST, SSHKW_STRING, NULL),
    SILENT("UsePrivilegedPort", SSHKW_REST, SSHKW_STRING, NULL),
    SILENT("AFSTokenPassing", SSHKW_REST, SSHKW_STRING, NULL),
    SILENT("KerberosAuthentication", SSHKW_REST, SSHKW_STRING, NULL),
    SILENT("KerberosTGTPassing", SSHKW_REST, SSHKW_STRING, NULL),
    SILENT("RSAAuthentication", SSHKW_REST, SSHKW_STRING, NULL),
    SILENT("RhostsRSAAuthentication", SSHKW_REST, SSHKW_STRING, NULL),
    SILENT("CompressionLevel", SSHKW_REST, SSHKW_STRING, NULL),
};

#define N_TABLE (sizeof(table) / sizeof(table[0]))

const struct sshkw *
sshkw_find(const char *name)
{
	for (size_t i = 0; i < N_TABLE; i++)
		if (strcasecmp(name, table[i].name) == 0)
			return &table[i];
	return NULL;
}

size_t
sshkw_index(const struct sshkw *k)
{
	return (size_t)(k - table);
}

size_t
sshkw_count(void)
{
	return N_TABLE;
}

const struct sshkw *
sshkw_at(size_t i)
{
	return i < N_TABLE ? &table[i] : NULL;
}

/* Whether word is in the comma-separated list (case-insensitive). */
static bool
in_list(const char *list, const char *word)
{
	size_t n = strlen(word);

	while (list != NULL && *list != '\0') {
		size_t len = strcspn(list, ",");
		if (len == n && strncasecmp(list, word, n) == 0)
			return true;
		list += len + (list[len] == ',');
	}
	return false;
}

bool
sshkw_harmless(const struct sshkw *k, const char *value)
{
	if (k->harmless == NULL)
		return false;
	if (strchr(k->harmless, ' ') != NULL)
		return strcmp(k->harmless, value) == 0;
	return in_list(k->harmless, value);
}

long
sshkw_convtime(const char *text)
{
	long total = 0, n = -1;

	if (*text == '\0')
		return -1;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9') {
			n = (n < 0 ? 0 : n) * 10 + (*p - '0');
			if (n > 2147483647L)
				return -1;
			continue;
		}
		const char *units = "sSmMhHdDwW";
		static const long mult[] = {1, 1, 60, 60, 3600, 3600, 86400, 86400, 604800, 604800};
		const char *u = strchr(units, *p);
		if (u == NULL || n < 0)
			return -1;
		total += n * mult[u - units];
		n = -1;
		if (total > 2147483647L)
			return -1;
	}
	if (n >= 0)
		total += n;
	return total > 2147483647L ? -1 : total;
}

/* Decimal digits only, value in [lo, hi]. */
static bool
number_in(const char *s, long lo, long hi, int base)
{
	char *end;

	if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return false;
	long v = strtol(s, &end, base);
	return *end == '\0' && v >= lo && v <= hi;
}

static bool
valid_env_name(const char *s)
{
	if (*s == '\0' || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int
check_word(const struct sshkw *k, const char *v, char *err, size_t errlen)
{
	char why[96];

	switch ((enum sshkw_check)k->check) {
	case SSHKW_FLAG:
		if (!in_list(FLAGS, v))
			goto bad_flag;
		return 0;
	case SSHKW_CHOICE:
		if (!in_list(k->choices, v)) {
			snprintf(err, errlen, "bad value '%.64s' (%s)", v, k->choices);
			return -1;
		}
		return 0;
	case SSHKW_PORT:
		if (!number_in(v, 1, 65535, 10)) {
			snprintf(err, errlen, "bad port '%.64s' (1-65535)", v);
			return -1;
		}
		return 0;
	case SSHKW_INT:
		if (!number_in(v, 0, 2147483647L, 10)) {
			snprintf(err, errlen, "bad number '%.64s' (0 or more)", v);
			return -1;
		}
		return 0;
	case SSHKW_TIME:
		if (strcmp(v, "none") != 0 && sshkw_convtime(v) < 0) {
			snprintf(err, errlen, "bad time '%.64s' (e.g. 30, 90s, 5m, 1h30m)", v);
			return -1;
		}
		return 0;
	case SSHKW_LOGLEVEL:
		if (!in_list("quiet,fatal,error,info,verbose,debug,debug1,debug2,debug3", v)) {
			snprintf(err, errlen,
			    "bad log level '%.64s' (QUIET, FATAL, ERROR, INFO, VERBOSE, DEBUG1-3)",
			    v);
			return -1;
		}
		return 0;
	case SSHKW_ENVNAME:
		if (*v == '\0' || strchr(v, '=') != NULL) {
			snprintf(err, errlen, "bad environment name '%.64s'", v);
			return -1;
		}
		return 0;
	case SSHKW_SETENV:
		if (strchr(v, '=') == NULL) {
			snprintf(err, errlen, "bad SetEnv '%.64s' (NAME=value)", v);
			return -1;
		}
		return 0;
	case SSHKW_AGENT:
		if (k->check == SSHKW_AGENT && strcasecmp(k->name, "ForwardAgent") == 0 &&
		    in_list(FLAGS, v))
			return 0;
		if (token_check(v, TOKEN_ENV, "", why, sizeof(why)) == -1) {
			snprintf(err, errlen, "bad environment reference in '%.64s': %s", v, why);
			return -1;
		}
		if (v[0] == '$' && v[1] != '{' && !valid_env_name(v + 1)) {
			snprintf(err, errlen, "bad environment name '%.64s'", v);
			return -1;
		}
		return 0;
	case SSHKW_CONTROLPERSIST:
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0 && strcmp(v, "true") != 0 &&
		    strcmp(v, "false") != 0 && sshkw_convtime(v) < 0) {
			snprintf(err, errlen, "bad value '%.64s' (yes, no or a time)", v);
			return -1;
		}
		return 0;
	case SSHKW_ESCAPECHAR:
		if (strcmp(v, "none") != 0 && v[1] != '\0' &&
		    !(v[0] == '^' && v[2] == '\0' && (unsigned char)v[1] >= 64 &&
			(unsigned char)v[1] < 128)) {
			snprintf(err, errlen, "bad escape character '%.64s'", v);
			return -1;
		}
		return 0;
	case SSHKW_MASK:
		if (!number_in(v, 0, 0777, 8)) {
			snprintf(err, errlen, "bad mask '%.64s' (octal, 0-0777)", v);
			return -1;
		}
		return 0;
	default:
		return 0;
	}
bad_flag:
	snprintf(err, errlen, "bad value '%.64s' (yes or no)", v);
	return -1;
}

/* The number of words a line may have: [min, max]. */
static void
arity(const struct sshkw *k, int *min, int *max)
{
	*min = 1;
	*max = 1;
	if (k->args == SSHKW_LIST || k->args == SSHKW_NONE_OK)
		*max = 1 << 30;
	if (k->args == SSHKW_ONE_TWO || k->check == SSHKW_REMOTEFWD)
		*max = 2;
	if (k->check == SSHKW_LOCALFWD)
		*min = *max = 2;
}

int
sshkw_check_value(const struct sshkw *k, int argc, char **argv, char *err, size_t errlen)
{
	int min, max;

	if (argc == 0 || (k->args != SSHKW_REST && argv[0][0] == '\0')) {
		snprintf(err, errlen, "missing argument");
		return -1;
	}
	if (k->args == SSHKW_REST)
		return 0;
	arity(k, &min, &max);
	if (argc < min) {
		snprintf(err, errlen, "missing argument after '%.64s'", argv[argc - 1]);
		return -1;
	}
	if (argc > max) {
		snprintf(err, errlen, "extra arguments after '%.64s'", argv[max - 1]);
		return -1;
	}
	for (int i = 0; i < argc; i++) {
		if (argv[i][0] == '\0') {
			snprintf(err, errlen, "empty argument");
			return -1;
		}
		if (k->check == SSHKW_FILES && strcasecmp(argv[i], "none") == 0 && argc > 1) {
			snprintf(err, errlen, "\"none\" must appear alone");
			return -1;
		}
		if (check_word(k, argv[i], err, errlen) == -1)
			return -1;
	}
	return 0;
}
