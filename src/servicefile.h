/*
 * The text of the files "porthole service install" writes: a systemd user
 * unit (Linux) and a launchd agent's property list (macOS). Pure: names in,
 * text out, so that the quoting is tested without a service manager.
 */
#ifndef PORTHOLE_SERVICEFILE_H
#define PORTHOLE_SERVICEFILE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Whether profile is a name the config file accepts: 1 to 64 letters,
 * digits, '.', '_' and '-'. Every function below refuses (-1) any other, so
 * that a name can never reach a path, a unit's syntax or a launchd label.
 */
bool servicefile_name_ok(const char *profile);

/*
 * The systemd user unit that runs "exe [-F config_file] profile". porthole
 * reconnects by itself, so it exits only when trying again cannot help soon
 * (a host key or credentials refused: 255) or never will (a config error: 2).
 * The unit restarts it 30 s later for the first, without limit (a key the
 * helper has not installed yet starts working), never for the second. No
 * network-online.target: a user manager has none. exe and config_file should be absolute paths; config_file may be
 * NULL. Each word is quoted as ExecStart= needs: in double quotes, with C
 * escapes, when it holds blanks, quotes, backslashes or control characters;
 * "%" doubled everywhere and "$" in the arguments, which systemd expands.
 * Returns 0, or -1 (out is then "") if the text does not fit in outlen bytes,
 * profile is not a profile name, or exe holds a quote, a backslash or a
 * control character: systemd refuses to run such a path, however written.
 */
int servicefile_unit_text(
    const char *exe, const char *config_file, const char *profile, char *out, size_t outlen);

/*
 * The launchd agent net.porthole.PROFILE that runs the same command at login
 * and again whenever it fails, with standard error appended to log_path.
 * Strings are XML-escaped. Returns 0, or -1 (out is then "") if the text does
 * not fit, profile is not a profile name, or a string holds a character XML
 * 1.0 cannot carry (a control character other than tab, newline and carriage
 * return).
 */
int servicefile_plist_text(const char *exe, const char *config_file, const char *profile,
    const char *log_path, char *out, size_t outlen);

/* "porthole-PROFILE.service" and "net.porthole.PROFILE". */
int servicefile_unit_name(const char *profile, char *out, size_t outlen);
int servicefile_label(const char *profile, char *out, size_t outlen);

#endif
