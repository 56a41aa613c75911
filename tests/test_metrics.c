/* test_metrics: PSNR/SSIM match BasicSR's definitions (known MSE cases, a
 * direct double-precision SSIM written out here), and irc-eval measures
 * folders, pairs them and reproduces its degraded inputs. */
#include "common.h"

#include "io/image.h"
#include "io/metrics.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];

static const char *
tmp_path (const char *name)
{
  static char buf[4][512];
  static int slot;
  slot = (slot + 1) % 4;
  snprintf (buf[slot], sizeof buf[slot], "%s/%s", tmpdir, name);
  return buf[slot];
}

#define CHECK_NEAR(a, b, tol)                                                   \
  do {                                                                          \
    double a_ = (a), b_ = (b);                                                  \
    if (!(fabs (a_ - b_) <= (tol))) {                                           \
      fprintf (stderr, "%s:%d: %s = %.10g, expected %.10g (tol %g)\n", __FILE__, \
          __LINE__, #a, a_, b_, (double) (tol));                                \
      exit (1);                                                                 \
    }                                                                           \
  } while (0)

/* A textured image in 8-bit steps: gradients and a pattern, so SSIM's local
 * statistics vary over the frame. */
static void
make_image (float *rgb, int w, int h, unsigned seed)
{
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        test_lcg (&seed);
        int v = 20 + (x * 5 + y * 3 + c * 30) % 130 + (int) ((seed >> 24) % 40)
            + ((x / 4 + y / 4) % 2) * 20;
        rgb[((size_t) c * h + y) * w + x] = (float) v / 255.0f;
      }
}

/* ------------------------------------- the reference, written out directly */

/* BasicSR's _ssim on one plane: cv2.filter2D with the 11x11 outer-product
 * window, 'valid' region, in double, with no separability trick. */
static double
ssim_direct (const double *a, const double *b, int w, int h)
{
  double g[11], sum = 0.0, win[11][11];
  for (int i = 0; i < 11; i++) {
    g[i] = exp (-((i - 5) * (i - 5)) / (2.0 * 1.5 * 1.5));
    sum += g[i];
  }
  for (int i = 0; i < 11; i++)
    for (int j = 0; j < 11; j++)
      win[i][j] = g[i] / sum * g[j] / sum;
  const double C1 = 6.5025, C2 = 58.5225;
  double total = 0.0;
  int count = 0;
  for (int y = 5; y < h - 5; y++)
    for (int x = 5; x < w - 5; x++) {
      double m1 = 0, m2 = 0, s11 = 0, s22 = 0, s12 = 0;
      for (int i = 0; i < 11; i++)
        for (int j = 0; j < 11; j++) {
          double va = a[(size_t) (y + i - 5) * w + x + j - 5];
          double vb = b[(size_t) (y + i - 5) * w + x + j - 5];
          m1 += win[i][j] * va;
          m2 += win[i][j] * vb;
          s11 += win[i][j] * va * va;
          s22 += win[i][j] * vb * vb;
          s12 += win[i][j] * va * vb;
        }
      s11 -= m1 * m1;
      s22 -= m2 * m2;
      s12 -= m1 * m2;
      total += ((2 * m1 * m2 + C1) * (2 * s12 + C2))
          / ((m1 * m1 + m2 * m2 + C1) * (s11 + s22 + C2));
      count++;
    }
  return total / count;
}

/* tensor2img then calculate_psnr/ssim (RGB and test_y_channel) of BasicSR. */
static void
metrics_direct (const float *img, const float *ref, int w, int h, irc_metrics *m)
{
  size_t plane = (size_t) w * h;
  double *qa = malloc (plane * 3 * sizeof *qa), *qb = malloc (plane * 3 * sizeof *qb);
  double *ya = malloc (plane * sizeof *ya), *yb = malloc (plane * sizeof *yb);
  CHECK (qa && qb && ya && yb);
  for (size_t i = 0; i < plane * 3; i++) {
    float a = fminf (fmaxf (img[i], 0.0f), 1.0f), b = fminf (fmaxf (ref[i], 0.0f), 1.0f);
    qa[i] = nearbyint (a * 255.0f);
    qb[i] = nearbyint (b * 255.0f);
  }
  double sse = 0.0, ssim = 0.0, sse_y = 0.0;
  for (size_t i = 0; i < plane * 3; i++)
    sse += (qa[i] - qb[i]) * (qa[i] - qb[i]);
  for (int c = 0; c < 3; c++)
    ssim += ssim_direct (qa + c * plane, qb + c * plane, w, h);
  for (size_t i = 0; i < plane; i++) {
    const double *q[2] = { qa, qb };
    double *y[2] = { ya, yb };
    for (int k = 0; k < 2; k++) {
      /* to_y_channel: float32 channels, float64 dot (B, G, R order), /255 to
       * float32, x255 in float32 */
      float r = (float) q[k][i] / 255.0f, gg = (float) q[k][i + plane] / 255.0f;
      float bb = (float) q[k][i + 2 * plane] / 255.0f;
      double v = bb * 24.966 + gg * 128.553 + r * 65.481 + 16.0;
      y[k][i] = (double) ((float) (v / 255.0) * 255.0f);
    }
    sse_y += (ya[i] - yb[i]) * (ya[i] - yb[i]);
  }
  m->psnr_rgb = 10.0 * log10 (255.0 * 255.0 / (sse / (plane * 3)));
  m->ssim_rgb = ssim / 3.0;
  m->psnr_y = 10.0 * log10 (255.0 * 255.0 / (sse_y / plane));
  m->ssim_y = ssim_direct (ya, yb, w, h);
  free (qa);
  free (qb);
  free (ya);
  free (yb);
}

/* ---------------------------------------------------------------- library */

static void
test_psnr_known (void)
{
  const int w = 16, h = 12;
  size_t n = (size_t) 3 * w * h;
  float *a = malloc (n * sizeof *a), *b = malloc (n * sizeof *b);
  CHECK (a && b);
  irc_error err = { 0 };
  irc_metrics m;

  /* Every sample 10 levels apart: MSE 100. Y moves by 10 * 219/255. */
  for (size_t i = 0; i < n; i++) {
    a[i] = 100.0f / 255.0f;
    b[i] = 110.0f / 255.0f;
  }
  CHECK (irc_metrics_compute (a, b, w, h, &m, &err) == IRC_OK);
  CHECK_NEAR (m.psnr_rgb, 10.0 * log10 (65025.0 / 100.0), 1e-9);
  double dy = 10.0 * 219.0 / 255.0;
  CHECK_NEAR (m.psnr_y, 10.0 * log10 (65025.0 / (dy * dy)), 1e-4);
  /* Flat images: SSIM is the luminance term alone, the same in every channel. */
  double l = (2.0 * 100 * 110 + 6.5025) / (100.0 * 100 + 110.0 * 110 + 6.5025);
  CHECK_NEAR (m.ssim_rgb, l, 1e-9);

  /* Half the samples 3 levels apart: MSE 4.5. */
  for (size_t i = 0; i < n; i++)
    b[i] = (i % 2 ? 103.0f : 100.0f) / 255.0f;
  CHECK (irc_metrics_compute (a, b, w, h, &m, &err) == IRC_OK);
  CHECK_NEAR (m.psnr_rgb, 10.0 * log10 (65025.0 / 4.5), 1e-9);

  uint8_t ua[4] = { 0, 10, 20, 255 }, ub[4] = { 1, 10, 22, 250 };
  CHECK_NEAR (irc_psnr_u8 (ua, ub, 4), 10.0 * log10 (65025.0 / (30.0 / 4)), 1e-9);
  CHECK (irc_psnr_u8 (ua, ua, 4) == IRC_PSNR_MAX);

  /* Identical images: PSNR is the finite cap, SSIM exactly one. */
  make_image (a, w, h, 7);
  CHECK (irc_metrics_compute (a, a, w, h, &m, &err) == IRC_OK);
  CHECK (m.psnr_rgb == IRC_PSNR_MAX && m.psnr_y == IRC_PSNR_MAX);
  CHECK_NEAR (m.ssim_rgb, 1.0, 1e-12);
  CHECK_NEAR (m.ssim_y, 1.0, 1e-12);

  /* Quantisation as tensor2img: values outside [0,1] clamp, so an image and
   * its clamped copy are identical; NaN counts as black. */
  memcpy (b, a, n * sizeof *b);
  a[0] = -0.4f;
  b[0] = 0.0f;
  a[1] = 1.7f;
  b[1] = 1.0f;
  a[2] = NAN;
  b[2] = 0.0f;
  a[3] = 0.3f / 255.0f;   /* rounds to 0 */
  b[3] = 0.0f;
  a[4] = 254.6f / 255.0f; /* rounds to 255 */
  b[4] = 1.0f;
  CHECK (irc_metrics_compute (a, b, w, h, &m, &err) == IRC_OK);
  CHECK (m.psnr_rgb == IRC_PSNR_MAX);
  uint8_t q[3];
  float half[3] = { 0.5f / 255.0f * 0.999f, 2.5f / 255.0f, 254.4f / 255.0f };
  irc_quantize_u8 (q, half, 3);
  CHECK (q[0] == 0 && q[2] == 254);
  CHECK (q[1] == 2 || q[1] == 3);   /* 2.5 is not exact in float: either side */

  /* Too small for the 11x11 window: an error, never a crash or a NaN. */
  CHECK (irc_metrics_compute (a, b, 10, 12, &m, &err) == IRC_ERR_INVALID);
  CHECK (strstr (err.message, "window"));
  CHECK (irc_metrics_compute (NULL, b, w, h, &m, &err) == IRC_ERR_INVALID);
  free (a);
  free (b);
}

static void
test_ssim_direct (void)
{
  const int w = 29, h = 23;
  size_t n = (size_t) 3 * w * h;
  float *a = malloc (n * sizeof *a), *b = malloc (n * sizeof *b);
  CHECK (a && b);
  make_image (a, w, h, 1);
  irc_error err = { 0 };
  irc_metrics m, d;

  /* A shifted copy, then a noised one: both below 1, both equal to the
   * direct computation. */
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        b[((size_t) c * h + y) * w + x] = a[((size_t) c * h + y) * w + (x + 1) % w];
  CHECK (irc_metrics_compute (b, a, w, h, &m, &err) == IRC_OK);
  metrics_direct (b, a, w, h, &d);
  CHECK (m.ssim_rgb < 0.99 && m.ssim_y < 0.99);
  CHECK_NEAR (m.ssim_rgb, d.ssim_rgb, 1e-10);
  CHECK_NEAR (m.ssim_y, d.ssim_y, 1e-10);
  CHECK_NEAR (m.psnr_rgb, d.psnr_rgb, 1e-10);
  CHECK_NEAR (m.psnr_y, d.psnr_y, 1e-10);

  unsigned s = 99;
  for (size_t i = 0; i < n; i++) {
    s = s * 1103515245u + 12345u;
    b[i] = a[i] + ((float) ((s >> 16) % 2001) / 1000.0f - 1.0f) * 0.08f;
  }
  CHECK (irc_metrics_compute (b, a, w, h, &m, &err) == IRC_OK);
  metrics_direct (b, a, w, h, &d);
  CHECK (m.ssim_rgb < 0.99 && m.ssim_rgb > 0.3);
  CHECK_NEAR (m.ssim_rgb, d.ssim_rgb, 1e-10);
  CHECK_NEAR (m.ssim_y, d.ssim_y, 1e-10);
  CHECK_NEAR (m.psnr_rgb, d.psnr_rgb, 1e-10);
  CHECK_NEAR (m.psnr_y, d.psnr_y, 1e-10);
  /* Symmetric in its arguments, as SSIM and PSNR are. */
  irc_metrics r;
  CHECK (irc_metrics_compute (a, b, w, h, &r, &err) == IRC_OK);
  CHECK_NEAR (r.ssim_rgb, m.ssim_rgb, 1e-12);
  CHECK_NEAR (r.psnr_y, m.psnr_y, 1e-12);
  free (a);
  free (b);
}

/* ---------------------------------------------------------------- irc-eval */

static char eval_bin[1024];

/* Runs irc-eval with @args, stdout to @out (under tmpdir); its exit status. */
static int
run_eval (const char *args, const char *out)
{
  char cmd[4096];
  snprintf (cmd, sizeof cmd, "'%s' %s > '%s' 2> '%s.err'", eval_bin, args, tmp_path (out),
      tmp_path (out));
  int st = system (cmd);
  CHECK (st != -1 && WIFEXITED (st));
  return WEXITSTATUS (st);
}

/* Reads field @col (0-based) of the CSV line starting with @name. */
static double
csv_field (const char *file, const char *name, int col)
{
  FILE *fp = fopen (tmp_path (file), "r");
  CHECK (fp);
  char line[1024];
  double v = NAN;
  size_t nl = strlen (name);
  while (fgets (line, sizeof line, fp))
    if (strncmp (line, name, nl) == 0 && line[nl] == ',') {
      char *p = line + nl;
      for (int c = 0; c <= col && p; c++)
        p = strchr (p + 1 - (c == 0), ',');
      CHECK (p);
      v = strtod (p + 1, NULL);
    }
  fclose (fp);
  CHECK (!isnan (v));
  return v;
}

static char *
read_text (const char *file)
{
  FILE *fp = fopen (tmp_path (file), "r");
  CHECK (fp);
  static char buf[65536];
  size_t n = fread (buf, 1, sizeof buf - 1, fp);
  buf[n] = '\0';
  fclose (fp);
  return buf;
}

/* Saves a flat-offset copy of a textured image: every sample @delta levels
 * above @base's (base kept within range so nothing clips). */
static void
save_pair (const char *a_path, const char *b_path, int w, int h, int delta, unsigned seed)
{
  irc_error err = { 0 };
  irc_image a = { 0 }, b = { 0 };
  CHECK (irc_image_alloc (&a, w, h, &err) == IRC_OK);
  CHECK (irc_image_alloc (&b, w, h, &err) == IRC_OK);
  make_image (a.data, w, h, seed);
  for (size_t i = 0; i < (size_t) 3 * w * h; i++)
    b.data[i] = a.data[i] + (float) delta / 255.0f;
  CHECK (irc_image_save (a_path, &a, 0, &err) == IRC_OK);
  CHECK (irc_image_save (b_path, &b, 0, &err) == IRC_OK);
  irc_image_clear (&a);
  irc_image_clear (&b);
}

static void
test_compare (void)
{
  CHECK (mkdir (tmp_path ("A"), 0755) == 0 && mkdir (tmp_path ("B"), 0755) == 0);
  save_pair (tmp_path ("A/one.png"), tmp_path ("B/one.png"), 40, 30, 10, 1);
  save_pair (tmp_path ("A/two.png"), tmp_path ("B/two.png"), 33, 27, 5, 2);
  char args[2048];
  snprintf (args, sizeof args, "--compare '%s' '%s' --csv '%s'", tmp_path ("A"),
      tmp_path ("B"), tmp_path ("cmp.csv"));
  CHECK (run_eval (args, "cmp.out") == 0);
  double p1 = 10.0 * log10 (65025.0 / 100.0), p2 = 10.0 * log10 (65025.0 / 25.0);
  CHECK_NEAR (csv_field ("cmp.csv", "one.png", 0), p1, 1e-5);
  CHECK_NEAR (csv_field ("cmp.csv", "two.png", 0), p2, 1e-5);
  CHECK_NEAR (csv_field ("cmp.csv", "mean", 0), (p1 + p2) / 2, 1e-5);
  CHECK (csv_field ("cmp.csv", "mean", 1) < 1.0);
  const char *table = read_text ("cmp.out");
  CHECK (strstr (table, "one.png") && strstr (table, "mean") && strstr (table, "28.131"));

  /* SOTS-style names pair by their leading ID; other names in sorted order
   * when the counts match. */
  CHECK (mkdir (tmp_path ("haze"), 0755) == 0 && mkdir (tmp_path ("clear"), 0755) == 0);
  save_pair (tmp_path ("clear/0002.png"), tmp_path ("haze/0002_0.8_0.2.png"), 24, 20, 10, 3);
  save_pair (tmp_path ("clear/0001.png"), tmp_path ("haze/0001_0.9_0.1.png"), 24, 20, 5, 4);
  save_pair (tmp_path ("clear/0003.png"), tmp_path ("haze/0003_0.9_0.1.jpg"), 24, 20, 0, 5);
  unlink (tmp_path ("clear/0003.png"));  /* a target less: ID pairing still works */
  snprintf (args, sizeof args, "--compare '%s' '%s' --csv '%s'", tmp_path ("haze"),
      tmp_path ("clear"), tmp_path ("sots.csv"));
  CHECK (run_eval (args, "sots.out") == 1);   /* 0003 has no target and counts differ */
  CHECK (strstr (read_text ("sots.out.err"), "0003_0.9_0.1.jpg"));
  unlink (tmp_path ("haze/0003_0.9_0.1.jpg"));
  CHECK (run_eval (args, "sots.out") == 0);
  CHECK_NEAR (csv_field ("sots.csv", "0001_0.9_0.1.png", 0), p2, 1e-5);
  CHECK_NEAR (csv_field ("sots.csv", "0002_0.8_0.2.png", 0), p1, 1e-5);

  CHECK (rename (tmp_path ("clear/0001.png"), tmp_path ("clear/x1.png")) == 0);
  CHECK (rename (tmp_path ("clear/0002.png"), tmp_path ("clear/x2.png")) == 0);
  CHECK (run_eval (args, "sorted.out") == 0);
  CHECK (strstr (read_text ("sorted.out.err"), "sorted order"));
  CHECK_NEAR (csv_field ("sots.csv", "0002_0.8_0.2.png", 0), p1, 1e-5);

  /* Clear failures: usage errors exit 2, missing data exits 1. */
  CHECK (run_eval ("--compare", "u1.out") == 2);
  CHECK (run_eval ("--pairs /nonexistent-a /nonexistent-b", "u2.out") == 2);  /* no --model */
  CHECK (run_eval ("--bogus", "u3.out") == 2);
  CHECK (run_eval ("--compare /nonexistent-a /nonexistent-b", "r1.out") == 1);
  CHECK (strstr (read_text ("r1.out.err"), "nonexistent-a"));
  CHECK (run_eval ("--help", "help.out") == 0);
  CHECK (strstr (read_text ("help.out"), "original size"));
}

static void
test_identity_model (void)
{
  irc_error err = { 0 };
  irc_config cfg;
  irc_model *m = NULL;
  CHECK (irc_config_named ("tiny8", &cfg, &err) == IRC_OK);
  /* All restoration weights zero: the global residual makes it the identity. */
  CHECK (irc_model_new (&cfg, NULL, NULL, &m, &err) == IRC_OK);
  CHECK (irc_model_save (m, tmp_path ("id.safetensors"), 0, NULL, 0, &err) == IRC_OK);
  irc_model_free (&m);

  CHECK (mkdir (tmp_path ("clean"), 0755) == 0);
  irc_image img = { 0 };
  CHECK (irc_image_alloc (&img, 48, 36, &err) == IRC_OK);
  make_image (img.data, 48, 36, 11);
  CHECK (irc_image_save (tmp_path ("clean/a.png"), &img, 0, &err) == IRC_OK);
  irc_image_clear (&img);
  CHECK (irc_image_alloc (&img, 37, 45, &err) == IRC_OK);   /* not a multiple of 8 */
  make_image (img.data, 37, 45, 12);
  CHECK (irc_image_save (tmp_path ("clean/b.png"), &img, 0, &err) == IRC_OK);
  irc_image_clear (&img);

  char args[2048];
  const char *base = "--model '%s' --clean '%s' --degrade noise --sigma 25 --seed %d"
      " --threads 1 --csv '%s' --side-by-side '%s'";
  snprintf (args, sizeof args, base, tmp_path ("id.safetensors"), tmp_path ("clean"), 3,
      tmp_path ("id1.csv"), tmp_path ("sbs"));
  CHECK (run_eval (args, "id1.out") == 0);
  for (int col = 0; col < 2; col++)
    CHECK (csv_field ("id1.csv", "a.png", col) == csv_field ("id1.csv", "a.png", col + 2));
  CHECK (csv_field ("id1.csv", "b.png", 0) == csv_field ("id1.csv", "b.png", 2));
  CHECK (csv_field ("id1.csv", "mean", 4) == csv_field ("id1.csv", "mean", 5));
  /* Sigma 25 on an image away from the clipping range: about 20.2 dB. */
  double in = csv_field ("id1.csv", "a.png", 0);
  CHECK (in > 19.5 && in < 21.0);
  CHECK (strstr (read_text ("id1.out"), "gain +0.000 dB"));
  struct stat sb;
  CHECK (stat (tmp_path ("sbs/a.png"), &sb) == 0);
  irc_image sbs = { 0 };
  CHECK (irc_image_load (tmp_path ("sbs/b.png"), &sbs, &err) == IRC_OK);
  CHECK (sbs.width == 3 * 37 + 2 * 4 && sbs.height == 45);
  irc_image_clear (&sbs);

  /* The same seed gives the same inputs; another seed other inputs. */
  snprintf (args, sizeof args, base, tmp_path ("id.safetensors"), tmp_path ("clean"), 3,
      tmp_path ("id2.csv"), tmp_path ("sbs"));
  CHECK (run_eval (args, "id2.out") == 0);
  CHECK (csv_field ("id1.csv", "a.png", 0) == csv_field ("id2.csv", "a.png", 0));
  CHECK (csv_field ("id1.csv", "b.png", 1) == csv_field ("id2.csv", "b.png", 1));
  snprintf (args, sizeof args, base, tmp_path ("id.safetensors"), tmp_path ("clean"), 4,
      tmp_path ("id3.csv"), tmp_path ("sbs"));
  CHECK (run_eval (args, "id3.out") == 0);
  CHECK (csv_field ("id1.csv", "a.png", 0) != csv_field ("id3.csv", "a.png", 0));

  /* --jpeg: the same draws, then a codec's loss; the input changes, the
   * identity's output still equals it. It goes with --clean only. */
  snprintf (args, sizeof args, "%s --jpeg 30", base);
  char jpeg_args[2048];
  snprintf (jpeg_args, sizeof jpeg_args, args, tmp_path ("id.safetensors"), tmp_path ("clean"),
      3, tmp_path ("id4.csv"), tmp_path ("sbs"));
  CHECK (run_eval (jpeg_args, "id4.out") == 0);
  CHECK (strstr (read_text ("id4.out"), "then JPEG quality 30"));
  CHECK (csv_field ("id4.csv", "a.png", 0) != csv_field ("id1.csv", "a.png", 0));
  CHECK (csv_field ("id4.csv", "a.png", 0) == csv_field ("id4.csv", "a.png", 2));
  snprintf (args, sizeof args, "--model '%s' --pairs '%s' '%s' --jpeg 50",
      tmp_path ("id.safetensors"), tmp_path ("A"), tmp_path ("B"));
  CHECK (run_eval (args, "jpeg-pairs.out") == 2);
  snprintf (args, sizeof args, "--model '%s' --clean '%s' --degrade noise --jpeg 0",
      tmp_path ("id.safetensors"), tmp_path ("clean"));
  CHECK (run_eval (args, "jpeg0.out") == 2);

  /* --pairs with the model: a corrupt model file is a runtime error. */
  FILE *fp = fopen (tmp_path ("bad.safetensors"), "wb");
  CHECK (fp && fwrite ("not a model", 1, 11, fp) == 11 && fclose (fp) == 0);
  snprintf (args, sizeof args, "--model '%s' --pairs '%s' '%s'", tmp_path ("bad.safetensors"),
      tmp_path ("A"), tmp_path ("B"));
  CHECK (run_eval (args, "bad.out") == 1);
  snprintf (args, sizeof args, "--model '%s' --pairs '%s' '%s' --limit 1 --csv '%s'",
      tmp_path ("id.safetensors"), tmp_path ("A"), tmp_path ("B"), tmp_path ("pairs.csv"));
  CHECK (run_eval (args, "pairs.out") == 0);
  CHECK_NEAR (csv_field ("pairs.csv", "one.png", 2), 10.0 * log10 (650.25), 1e-5);
  CHECK (!strstr (read_text ("pairs.out"), "two.png"));
}

static void
remove_tree (const char *dir)
{
  char cmd[600];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system (cmd) != 0)
    fprintf (stderr, "could not remove %s\n", dir);
}

int
main (void)
{
  test_psnr_known ();
  test_ssim_direct ();

  const char *build = getenv ("IRC_BUILD_DIR");
  if (!build || !*build) {
    fprintf (stderr, "IRC_BUILD_DIR unset: irc-eval not tested\n");
    return 0;
  }
  snprintf (eval_bin, sizeof eval_bin, "%s/src/cli/irc-eval", build);
  CHECK (access (eval_bin, X_OK) == 0);
  snprintf (tmpdir, sizeof tmpdir, "/tmp/irc-metrics-XXXXXX");
  CHECK (mkdtemp (tmpdir));
  test_compare ();
  test_identity_model ();
  remove_tree (tmpdir);
  return 0;
}
