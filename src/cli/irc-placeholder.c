/* irc-placeholder: writes a clearly labelled pass-through model (all
 * restoration weights zero, so the output is the input) for a task that has
 * no trained model yet. Used by the build. */
#include "irc/irc.h"

#include <stdio.h>
#include <string.h>

int
main (int argc, char **argv)
{
  if (argc != 3 || !strcmp (argv[1], "--help")) {
    fprintf (argc == 2 ? stdout : stderr, "usage: irc-placeholder TASK OUT.safetensors\n");
    return argc == 2 ? 0 : 2;
  }
  irc_config cfg;
  irc_error err = {0};
  irc_model *m = NULL;
  if (irc_config_named ("tiny8", &cfg, &err) != IRC_OK
      || irc_model_new (&cfg, NULL, NULL, &m, &err) != IRC_OK) {
    fprintf (stderr, "irc-placeholder: %s\n", err.message);
    return 1;
  }
  const char *meta[] = {"task", argv[1], "placeholder", "true",
    "description", "pass-through placeholder: no trained model for this task yet"};
  const irc_status st = irc_model_save (m, argv[2], 1, meta, 3, &err);
  irc_model_free (&m);
  if (st != IRC_OK) {
    fprintf (stderr, "irc-placeholder: %s\n", err.message);
    return 1;
  }
  return 0;
}
