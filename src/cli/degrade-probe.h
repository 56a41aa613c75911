/* The `irc-eval probe` subcommand: the degradation a model's style code
 * reads from images, against their truth (degrade-probe.c). */
#ifndef IRC_CLI_DEGRADE_PROBE_H
#define IRC_CLI_DEGRADE_PROBE_H

#include "irc/irc.h"

/* Runs `irc-eval probe` with its own arguments (@argv[0] is "probe").
 * Returns the exit status. */
int irc_eval_probe_main (int argc, char **argv);

#endif
