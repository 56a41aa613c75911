/* fuzz_corpus: replays the fuzzer's committed seed corpus (tests/fuzz/corpus)
 * through the model loader in every build, sanitizers included: the valid
 * seeds (tiny4-*, bare4-*, odd-*) load, every damaged one is refused with a
 * message. */
#include "common.h"
#include "irc/irc.h"

#include <dirent.h>
#include <string.h>

static int
is_valid_seed (const char *name)
{
  return !strncmp (name, "tiny4-", 6) || !strncmp (name, "bare4-", 6)
      || !strncmp (name, "odd-", 4);
}

int
main (void)
{
  char dir[4096];
  snprintf (dir, sizeof dir, "%s/../fuzz/corpus", test_data_dir ());
  DIR *d = opendir (dir);
  CHECK (d != NULL);
  int n = 0, valid = 0;
  struct dirent *e;
  while ((e = readdir (d))) {
    if (e->d_name[0] == '.')
      continue;
    char path[8192];
    snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
    FILE *f = fopen (path, "rb");
    CHECK (f != NULL);
    fseek (f, 0, SEEK_END);
    const size_t size = (size_t) ftell (f);
    fseek (f, 0, SEEK_SET);
    unsigned char *bytes = malloc (size ? size : 1);
    CHECK (fread (bytes, 1, size, f) == size);
    fclose (f);
    irc_model *m = NULL;
    irc_error err = {0};
    /* the golden files' extra tensors accepted, as one fuzzer mode does */
    const irc_model_load_params params = {"golden.", 1};
    const irc_status st = irc_model_load_memory (bytes, size, e->d_name, &params, &m, &err);
    if (is_valid_seed (e->d_name)) {
      if (st != IRC_OK)
        fprintf (stderr, "%s\n", err.message);
      CHECK (st == IRC_OK && m != NULL);
      printf ("%-36s loads: dim %d\n", e->d_name, irc_model_config (m)->dim);
      valid++;
    } else {
      CHECK (st != IRC_OK && m == NULL && err.message[0]);
      printf ("%-36s refused: %s\n", e->d_name, err.message);
    }
    irc_model_free (&m);
    free (bytes);
    n++;
  }
  closedir (d);
  CHECK (n >= 10 && valid >= 5);
  return 0;
}
