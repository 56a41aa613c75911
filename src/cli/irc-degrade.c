/* irc-degrade: applies a seeded synthetic degradation (rain, haze, noise,
 * blur, or a mix) to one image, a folder of images, or a video frame
 * sequence, reproducibly; the demo and the evaluation use it. */
#include "io/degrade.h"
#include "io/image.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

static void
usage (FILE *fp)
{
  fprintf (fp,
      "Usage: irc-degrade --task TASK [OPTIONS] IN OUT\n"
      "\n"
      "Degrades the image IN into OUT (format from OUT's extension: .png, .jpg,\n"
      ".jpeg), or every image in the folder IN (and its subfolders, one level)\n"
      "into the folder OUT under the same names. Same seed, same output.\n"
      "\n"
      "Tasks:\n"
      "  rain         light or heavy rain, drawn\n"
      "  rain-light   sparse streaks, one layer (Rain100L-like)\n"
      "  rain-heavy   several streak layers and rain accumulation (Rain100H-like)\n"
      "  haze         atmospheric scattering over a depth proxy (RESIDE-like)\n"
      "  noise        Gaussian noise, sigma 0-50 unless --sigma\n"
      "  blur         camera-shake blur (random trajectory, or --kernel/--kernels)\n"
      "  mix          one of rain/haze/noise/blur at random, sometimes two\n"
      "  haze-dense   dense, patchy fog (Dense-Haze-like)\n"
      "  blur-nonuniform  camera shake whose kernel turns and grows across the\n"
      "               frame (the camera also rotating; depth), blended in linear light\n"
      "  blur-rolling camera shake through a rolling shutter: the rows lower in the\n"
      "               frame see a later stretch of the camera's path\n"
      "\n"
      "Options:\n"
      "  -t, --task TASK      the degradation (required)\n"
      "  -s, --seed N         random seed (default 1)\n"
      "      --sigma S        noise standard deviation in 0-255 units (noise steps)\n"
      "      --kernel FILE    blur with this kernel (text, one row per line)\n"
      "      --kernels DIR    draw blur kernels from the *.txt files in DIR too\n"
      "      --frames         IN is a video frame sequence: one parameter draw for\n"
      "                       all frames (static haze/blur), fresh rain streaks and\n"
      "                       noise per frame\n"
      "  -q, --quality Q      JPEG quality 1-100 (default 95)\n"
      "  -v, --verbose        print the parameters drawn\n"
      "  -h, --help           this help\n"
      "\n"
      "Exit status: 0 success, 1 runtime error, 2 usage error.\n");
}

static int
usage_error (const char *fmt, const char *arg)
{
  fprintf (stderr, "irc-degrade: ");
  fprintf (stderr, fmt, arg);
  fprintf (stderr, "\nTry 'irc-degrade --help'.\n");
  return EXIT_USAGE;
}

static int
parse_long (const char *s, long long lo, long long hi, long long *out)
{
  char *end;
  errno = 0;
  long long v = strtoll (s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

static int
parse_float (const char *s, double lo, double hi, double *out)
{
  char *end;
  errno = 0;
  double v = strtod (s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi))
    return -1;
  *out = v;
  return 0;
}

static int
is_dir (const char *p)
{
  struct stat sb;
  return stat (p, &sb) == 0 && S_ISDIR (sb.st_mode);
}

static void
describe_plan (FILE *fp, const char *name, const irc_plan *p)
{
  fprintf (fp, "%s:", name);
  if (p->use[IRC_DEG_HAZE])
    fprintf (fp, " haze(beta %.3f, A %.2f/%.2f/%.2f, depth %.1f-%.1f)", p->haze.beta,
        p->haze.airlight[0], p->haze.airlight[1], p->haze.airlight[2], p->haze.depth_near,
        p->haze.depth_far);
  if (p->use[IRC_DEG_RAIN]) {
    const irc_rain_params *r = &p->rain;
    static const char *styles[] = { "levels", "drops", "mixed" };
    fprintf (fp, " rain(%s, %d layer%s, density %.2f, length %.0f-%.0f, width %.1f-%.1f,"
        " angle %.0f, brightness %.2f, veil %.2f)",
        (unsigned) r->style < 3 ? styles[r->style] : "?", r->layers,
        r->layers > 1 ? "s" : "", r->density, r->length_min, r->length_max, r->width_min,
        r->width_max, r->angle, r->brightness, r->veil);
  }
  if (p->use[IRC_DEG_BLUR])
    fprintf (fp, " blur(kernel %dx%d, gamma %.1f, noise %.1f)", p->kernel.width,
        p->kernel.height, p->blur.gamma, p->blur.noise_sigma);
  if (p->use[IRC_DEG_NOISE])
    fprintf (fp, " noise(sigma %.1f, shot %.4f%s)", p->noise.sigma, p->noise.shot,
        p->noise.quantize ? ", 8-bit" : "");
  fprintf (fp, "\n");
}

/* Loads @in, applies @plan (drawn here first when @draw), saves @out. */
static int
degrade_file (const char *in, const char *out, irc_task task, const irc_plan_options *o,
    irc_plan *plan, int draw, uint64_t seed, uint64_t stream, int quality, int verbose)
{
  irc_error err = { 0 };
  irc_image img = { 0 };
  if (irc_image_load (in, &img, &err) != IRC_OK) {
    fprintf (stderr, "irc-degrade: %s\n", err.message);
    return EXIT_RUNTIME;
  }
  irc_rng rng;
  irc_rng_seed (&rng, seed, stream);
  int rc = 0;
  if (draw && irc_plan_sample (plan, task, o, &rng, &err) != IRC_OK) {
    fprintf (stderr, "irc-degrade: %s: %s\n", in, err.message);
    rc = EXIT_RUNTIME;
  }
  if (!rc && verbose)
    describe_plan (stderr, in, plan);
  if (!rc && irc_plan_apply (plan, img.data, img.width, img.height, &rng, &err) != IRC_OK) {
    fprintf (stderr, "irc-degrade: %s: %s\n", in, err.message);
    rc = EXIT_RUNTIME;
  }
  if (!rc && irc_image_save (out, &img, quality, &err) != IRC_OK) {
    fprintf (stderr, "irc-degrade: %s\n", err.message);
    rc = EXIT_RUNTIME;
  }
  if (draw)
    irc_plan_clear (plan);
  irc_image_clear (&img);
  return rc;
}

static int
make_dir (const char *p)
{
  if (mkdir (p, 0755) == 0 || (errno == EEXIST && is_dir (p)))
    return 0;
  fprintf (stderr, "irc-degrade: cannot create folder %s: %s\n", p,
      errno == EEXIST ? "a file is in the way" : strerror (errno));
  return -1;
}

static int
degrade_folder (const char *in, const char *out, irc_task task, const irc_plan_options *o,
    int frames, uint64_t seed, int quality, int verbose)
{
  irc_error err = { 0 };
  char **paths = NULL;
  size_t n = 0;
  if (irc_image_list_dir (in, &paths, &n, &err) != IRC_OK) {
    fprintf (stderr, "irc-degrade: %s\n", err.message);
    return EXIT_RUNTIME;
  }
  int rc = make_dir (out) ? EXIT_RUNTIME : 0;

  /* A video shares one draw: the plan comes from stream 0, each frame's
   * streaks and noise from its own stream. Independent images draw their
   * own plan from their own stream. */
  irc_plan plan;
  memset (&plan, 0, sizeof plan);
  if (!rc && frames) {
    irc_rng rng;
    irc_rng_seed (&rng, seed, 0);
    if (irc_plan_sample (&plan, task, o, &rng, &err) != IRC_OK) {
      fprintf (stderr, "irc-degrade: %s\n", err.message);
      rc = EXIT_RUNTIME;
    }
  }
  size_t prefix = strlen (in);
  while (prefix > 1 && in[prefix - 1] == '/')
    prefix--;
  for (size_t i = 0; !rc && i < n; i++) {
    const char *rel = paths[i] + prefix;
    while (*rel == '/')
      rel++;
    size_t need = strlen (out) + strlen (rel) + 2;
    char *dst = malloc (need);
    if (!dst) {
      fprintf (stderr, "irc-degrade: out of memory\n");
      rc = EXIT_RUNTIME;
      break;
    }
    snprintf (dst, need, "%s/%s", out, rel);
    /* One level of subfolders, as listed. */
    char *slash = strrchr (dst + strlen (out) + 1, '/');
    if (slash) {
      *slash = '\0';
      if (make_dir (dst))
        rc = EXIT_RUNTIME;
      *slash = '/';
    }
    if (!rc)
      rc = degrade_file (paths[i], dst, task, o, &plan, !frames, seed,
          frames ? 1 + i : i, quality, verbose && (!frames || i == 0));
    free (dst);
  }
  irc_plan_clear (&plan);
  irc_image_list_free (paths, n);
  if (!rc && verbose)
    fprintf (stderr, "irc-degrade: %zu image%s written to %s\n", n, n == 1 ? "" : "s", out);
  return rc;
}

int
main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "task", required_argument, NULL, 't' },
    { "seed", required_argument, NULL, 's' },
    { "sigma", required_argument, NULL, 'S' },
    { "kernel", required_argument, NULL, 'k' },
    { "kernels", required_argument, NULL, 'K' },
    { "frames", no_argument, NULL, 'f' },
    { "quality", required_argument, NULL, 'q' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *task_name = NULL, *kernel_file = NULL, *kernel_dir = NULL;
  long long seed = 1, quality = 95;
  double sigma = -1.0;
  int frames = 0, verbose = 0, c;
  opterr = 0;
  while ((c = getopt_long (argc, argv, ":t:s:q:vh", longopts, NULL)) != -1) {
    switch (c) {
      case 't': task_name = optarg; break;
      case 's':
        if (parse_long (optarg, 0, LLONG_MAX, &seed))
          return usage_error ("--seed wants a non-negative integer, not '%s'", optarg);
        break;
      case 'S':
        if (parse_float (optarg, 0.0, 255.0, &sigma))
          return usage_error ("--sigma wants a number in 0..255, not '%s'", optarg);
        break;
      case 'k': kernel_file = optarg; break;
      case 'K': kernel_dir = optarg; break;
      case 'f': frames = 1; break;
      case 'q':
        if (parse_long (optarg, 1, 100, &quality))
          return usage_error ("--quality wants an integer in 1..100, not '%s'", optarg);
        break;
      case 'v': verbose = 1; break;
      case 'h': usage (stdout); return 0;
      case ':': return usage_error ("option '%s' needs a value", argv[optind - 1]);
      default: return usage_error ("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (!task_name)
    return usage_error ("%s", "--task is required (rain, rain-light, rain-heavy, haze, noise, blur, mix)");
  irc_task task;
  irc_error err = { 0 };
  if (irc_task_from_name (task_name, &task, &err) != IRC_OK)
    return usage_error ("%s", err.message);
  if (argc - optind != 2)
    return usage_error ("%s", "expected two arguments, IN and OUT");
  const char *in = argv[optind], *out = argv[optind + 1];

  struct stat sin, sout;
  if (stat (in, &sin) != 0) {
    fprintf (stderr, "irc-degrade: %s: %s\n", in, strerror (errno));
    return EXIT_RUNTIME;
  }
  int folder = S_ISDIR (sin.st_mode);
  if (folder && stat (out, &sout) == 0 && sout.st_dev == sin.st_dev
      && sout.st_ino == sin.st_ino)
    return usage_error ("%s", "OUT is the same folder as IN; refusing to overwrite the inputs");
  if (!folder && stat (out, &sout) == 0 && S_ISDIR (sout.st_mode))
    return usage_error ("OUT '%s' is a folder but IN is a single image", out);
  if (frames && !folder)
    return usage_error ("%s", "--frames needs a folder of frames as IN");

  irc_plan_options o;
  irc_plan_options_init (&o);
  if (sigma >= 0.0)
    o.sigma_min = o.sigma_max = (float) sigma;
  irc_kernel fixed = { 0, 0, NULL };
  irc_kernel *set = NULL;
  size_t nset = 0;
  int rc = 0;
  if (kernel_file) {
    if (irc_kernel_load (kernel_file, &fixed, &err) != IRC_OK) {
      fprintf (stderr, "irc-degrade: %s\n", err.message);
      return EXIT_RUNTIME;
    }
    o.fixed_kernel = &fixed;
  }
  if (kernel_dir) {
    if (irc_kernel_load_dir (kernel_dir, &set, &nset, &err) != IRC_OK) {
      fprintf (stderr, "irc-degrade: %s\n", err.message);
      irc_kernel_clear (&fixed);
      return EXIT_RUNTIME;
    }
    o.kernels = set;
    o.n_kernels = nset;
    o.kernel_prob = 0.5f;
  }

  if (folder) {
    rc = degrade_folder (in, out, task, &o, frames, (uint64_t) seed, (int) quality, verbose);
  } else {
    irc_plan plan;
    rc = degrade_file (in, out, task, &o, &plan, 1, (uint64_t) seed, 0, (int) quality,
        verbose);
  }
  irc_kernel_clear (&fixed);
  irc_kernel_array_free (set, nset);
  return rc;
}
