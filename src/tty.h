/*
 * Prompts on the controlling terminal (/dev/tty), never on stdin/stdout, so
 * porthole can ask for a passphrase even when its output is redirected.
 */
#ifndef PORTHOLE_TTY_H
#define PORTHOLE_TTY_H

#include <stdbool.h>
#include <stddef.h>

/* True if there is a controlling terminal to prompt on, and prompting is allowed. */
bool tty_available(void);

/* BatchMode: never prompt; tty_available() is then false. */
void tty_set_batch(bool batch);

/*
 * Why tty_available() is false, to end a sentence: "BatchMode is yes" or
 * "there is no terminal".
 */
const char *tty_unavailable_why(void);

/*
 * Shows prompt and reads one line into out (without the newline), with echo
 * off unless echo is set. Returns 0, or -1 if there is no terminal or reading
 * failed. The caller wipes out after use.
 */
int tty_prompt(const char *prompt, bool echo, char *out, size_t outlen);

#endif
