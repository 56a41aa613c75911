/* fuzz_model: libFuzzer target over irc_model_load_memory(): safetensors
 * parsing, configuration from metadata or tensor shapes, and binding. Every
 * input must be refused with a message or give a model whose invariants hold. */
#include "irc/irc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A broken invariant is a finding: abort so libFuzzer keeps the input. */
#define EXPECT(cond) do { if (!(cond)) abort (); } while (0)

static void
check_model (const irc_model *m)
{
  irc_error err = {0};
  EXPECT (irc_config_validate (irc_model_config (m), &err) == IRC_OK);
  const size_t n = irc_model_tensor_count (m);
  EXPECT (n > 0);
  for (size_t i = 0; i < n; i++) {
    size_t count;
    int ndim;
    int64_t shape[4];
    float *data;
    const char *name = irc_model_tensor_info (m, i, &count, &ndim, shape, &data);
    EXPECT (name != NULL);
    /* the loader refuses non-finite weights, so none may get through */
    for (size_t k = 0; k < count; k++)
      EXPECT (data[k] - data[k] == 0.0f);
  }
  (void) irc_model_metadata (m, "config");
}

static void
load_once (const uint8_t *data, size_t size, const irc_model_load_params *params)
{
  irc_model *m = NULL;
  irc_error err = {0};
  irc_status st = irc_model_load_memory (data, size, "fuzz.safetensors", params, &m, &err);
  if (st == IRC_OK) {
    EXPECT (m != NULL);
    check_model (m);
    irc_model_free (&m);
    EXPECT (m == NULL);
  } else {
    /* a refusal always says why, in a terminated message */
    EXPECT (m == NULL);
    EXPECT (err.status == st);
    EXPECT (memchr (err.message, '\0', sizeof err.message) != NULL);
    EXPECT (err.message[0] != '\0');
  }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* the element's options (training state accepted), then the strictest */
  const irc_model_load_params defaults = IRC_MODEL_LOAD_DEFAULTS;
  const irc_model_load_params strict = {NULL, 0};
  const irc_model_load_params golden = {"golden.", 1};
  load_once (data, size, &defaults);
  /* the last byte picks a second mode, so one input explores both */
  load_once (data, size, size && (data[size - 1] & 1) ? &golden : &strict);
  return 0;
}
