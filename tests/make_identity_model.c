/* make_identity_model: writes a pass-through model (tiny8, every
 * restoration weight zero, so the network's output is its input) for the
 * element tests, which compare output frames with input frames bit for bit
 * and so need a model that restores nothing. */
#include "irc/irc.h"

#include <stdio.h>
#include <string.h>

int
main (int argc, char **argv)
{
  if (argc != 3) {
    fprintf (stderr, "usage: make_identity_model TASK OUT.safetensors\n");
    return 2;
  }
  irc_config cfg;
  irc_error err = {0};
  irc_model *m = NULL;
  if (irc_config_named ("tiny8", &cfg, &err) != IRC_OK
      || irc_model_new (&cfg, NULL, NULL, &m, &err) != IRC_OK) {
    fprintf (stderr, "make_identity_model: %s\n", err.message);
    return 1;
  }
  const char *meta[] = {"task", argv[1],
    "description", "test fixture: pass-through model (all weights zero)"};
  const irc_status st = irc_model_save (m, argv[2], 1, meta, 2, &err);
  irc_model_free (&m);
  if (st != IRC_OK) {
    fprintf (stderr, "make_identity_model: %s\n", err.message);
    return 1;
  }
  return 0;
}
