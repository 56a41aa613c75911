/* golden: the network against PyTorch's outputs for the two golden
 * configurations (../shared/golden, copied to tests/data), on each backend. */
#include "tensor_check.h"

#include <math.h>
#include <string.h>

/* The golden values come from PyTorch in float32; our convolutions sum in a
 * different order, so each output differs by accumulated rounding: 1e-4 is the
 * tolerance the golden README sets for every tensor. */
#define GOLDEN_TOL 1e-4

static int
check_file (const char *path, irc_backend_kind backend)
{
  irc_error err = {0};
  irc_st_file *f = NULL;
  if (irc_st_open (path, &f, &err) != IRC_OK) {
    fprintf (stderr, "%s\n", err.message);
    return 1;
  }
  irc_model_load_params lp = IRC_MODEL_LOAD_DEFAULTS;
  lp.ignore_prefix = "golden.";
  irc_model *model = NULL;
  if (irc_model_load (path, &lp, &model, &err) != IRC_OK) {
    fprintf (stderr, "%s\n", err.message);
    return 1;
  }
  const irc_st_tensor *in = irc_st_find (f, "golden.input");
  CHECK (in && in->ndim == 4 && in->shape[1] == 3);
  const int batch = (int) in->shape[0], h = (int) in->shape[2], w = (int) in->shape[3];
  const irc_config *cfg = irc_model_config (model);
  float *input = read_tensor (f, "golden.input", NULL);
  float *output = read_tensor (f, "golden.output", NULL);
  float *code1 = read_tensor (f, "golden.code1", NULL);
  float *code2 = read_tensor (f, "golden.code2", NULL);
  float *fea[3];
  size_t fea_count[3];
  for (int i = 0; i < 3; i++) {
    char name[32];
    snprintf (name, sizeof name, "golden.fea%d", i);
    fea[i] = read_tensor (f, name, &fea_count[i]);
  }
  irc_net_params np = IRC_NET_DEFAULTS;
  np.backend = backend;
  irc_net *net = NULL;
  if (irc_net_new (model, w, h, &np, &net, &err) != IRC_OK) {
    fprintf (stderr, "%s\n", err.message);
    return 1;
  }
  const size_t img = (size_t) 3 * h * w;
  float *res = malloc (img * sizeof (float));
  double worst = 0;
  for (int b = 0; b < batch; b++) {
    irc_encoder_out eo;
    CHECK (irc_net_encode (net, input + b * img, w, h, &eo, &err) == IRC_OK);
    double d[6];
    d[0] = max_abs_diff (eo.code1, code1 + (size_t) b * cfg->code, (size_t) cfg->code);
    d[1] = max_abs_diff (eo.code2, code2 + (size_t) b * cfg->code, (size_t) cfg->code);
    for (int i = 0; i < 3; i++) {
      const size_t n = (size_t) eo.fea_c[i] * eo.fea_h[i] * eo.fea_w[i];
      CHECK (n * batch == fea_count[i]);
      d[2 + i] = max_abs_diff (eo.fea[i], fea[i] + b * n, n);
    }
    CHECK (irc_net_restore (net, res, input + b * img, w, h, &err) == IRC_OK);
    d[5] = max_abs_diff (res, output + b * img, img);
    printf ("%s [%d] backend %d: code1 %.2e code2 %.2e fea0 %.2e fea1 %.2e fea2 %.2e output %.2e\n",
        path, b, (int) backend, d[0], d[1], d[2], d[3], d[4], d[5]);
    for (int i = 0; i < 6; i++)
      if (!(d[i] <= worst))
        worst = d[i];
    /* the split passes give the same result as the whole network */
    CHECK (irc_net_restore_with_code (net, res, input + b * img, w, h, &err) == IRC_OK);
    CHECK (max_abs_diff (res, output + b * img, img) <= GOLDEN_TOL);
  }
  free (res);
  irc_net_free (&net);
  free (input), free (output), free (code1), free (code2);
  for (int i = 0; i < 3; i++)
    free (fea[i]);
  irc_model_free (&model);
  irc_st_close (&f);
  if (!(worst <= GOLDEN_TOL)) {
    fprintf (stderr, "%s: max abs error %.3e above %.0e\n", path, worst, GOLDEN_TOL);
    return 1;
  }
  return 0;
}

int
main (int argc, char **argv)
{
  const char *names[] = {"infer_small.safetensors", "infer_medium.safetensors"};
  const irc_backend_kind backends[] = {IRC_BACKEND_REFERENCE, IRC_BACKEND_CPU};
  int fails = 0;
  (void) argc, (void) argv;
  for (size_t i = 0; i < 2; i++) {
    char path[1024];
    snprintf (path, sizeof path, "%s/golden/%s", test_data_dir (), names[i]);
    for (size_t b = 0; b < 2; b++)
      fails += check_file (path, backends[b]);
  }
  return fails ? 1 : 0;
}
