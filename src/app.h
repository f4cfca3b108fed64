/*
 * A running porthole: see app.c.
 */
#ifndef PORTHOLE_APP_H
#define PORTHOLE_APP_H

#include "settings.h"

/* Runs until stopped; returns the exit status. st must outlive the call. */
int app_run(struct settings *st);

#endif
