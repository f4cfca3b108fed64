/*
 * Logging: one line per event on stderr, "porthole: " first ("porthole
 * relay: " in the relay). Levels follow ssh's LogLevel names; -v raises the
 * level, -q lowers it to errors only.
 */
#ifndef PORTHOLE_LOG_H
#define PORTHOLE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_QUIET,
	LOG_FATAL,
	LOG_ERROR,
	LOG_INFO,
	LOG_VERBOSE,
	LOG_DEBUG1,
	LOG_DEBUG2,
	LOG_DEBUG3,
};

void log_set_level(enum log_level level);
/* What each line starts with, "porthole" unless set ("porthole relay"). */
void log_set_ident(const char *name);
enum log_level log_get_level(void);
/*
 * -E: append every line to path (created 0600) instead of stderr. Returns
 * 0, or -1 with err saying why the file cannot be opened.
 */
int log_set_file(const char *path, char *err, size_t errlen);
/* Whether lines go to stderr (no -E). */
bool log_on_stderr(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_verbose(...) log_msg(LOG_VERBOSE, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG1, __VA_ARGS__)
#define log_debug2(...) log_msg(LOG_DEBUG2, __VA_ARGS__)
#define log_debug3(...) log_msg(LOG_DEBUG3, __VA_ARGS__)

#endif
