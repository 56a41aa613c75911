/* runner: pixel formats exact, scene cuts and style passes counted, tiles
 * seamless against the untiled frame, and nothing allocated per frame. */
#include "common.h"
#include "irc/runner.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Counting allocations: the test links with --wrap for these, so every call
 * from libirc (a static library linked in here) passes through. */
static long allocs;
void *__real_malloc (size_t n);
void *__real_calloc (size_t a, size_t b);
void *__real_realloc (void *p, size_t n);
void *__real_aligned_alloc (size_t a, size_t n);
void *__wrap_malloc (size_t n) { allocs++; return __real_malloc (n); }
void *__wrap_calloc (size_t a, size_t b) { allocs++; return __real_calloc (a, b); }
void *__wrap_realloc (void *p, size_t n) { allocs++; return __real_realloc (p, n); }
void *__wrap_aligned_alloc (size_t a, size_t n) { allocs++; return __real_aligned_alloc (a, n); }

static unsigned seed = 99;
static irc_backend_kind backend = IRC_BACKEND_CPU;

static unsigned
next (void)
{
  test_lcg (&seed);
  return seed >> 8;
}

static void
small_weights (void *user, const char *name, float *data, size_t count)
{
  const float scale = *(const float *) user;
  const int unit = strstr (name, "norm") && strstr (name, "weight");
  for (size_t i = 0; i < count; i++)
    data[i] = (unit ? 1.0f : 0.0f) + ((next () / 16777216.0f) - 0.5f) * scale;
  if (strstr (name, "running_var"))
    for (size_t i = 0; i < count; i++)
      data[i] = 1.0f;
}

/* Bytes of one frame in @format, and its planes set up over @buf. */
static size_t
layout (irc_frame *f, uint8_t *buf, irc_pixel_format fmt, int w, int h)
{
  const int cw = (w + 1) / 2, ch = (h + 1) / 2;
  memset (f, 0, sizeof *f);
  if (fmt == IRC_FORMAT_I420) {
    f->stride[0] = w + 3, f->stride[1] = cw + 1, f->stride[2] = cw + 2;
    f->data[0] = buf;
    f->data[1] = buf ? buf + (size_t) f->stride[0] * h : NULL;
    f->data[2] = buf ? f->data[1] + (size_t) f->stride[1] * ch : NULL;
    return (size_t) f->stride[0] * h + (size_t) (f->stride[1] + f->stride[2]) * ch;
  }
  if (fmt == IRC_FORMAT_NV12) {
    f->stride[0] = w + 1, f->stride[1] = 2 * cw + 5;
    f->data[0] = buf;
    f->data[1] = buf ? buf + (size_t) f->stride[0] * h : NULL;
    return (size_t) f->stride[0] * h + (size_t) f->stride[1] * ch;
  }
  const int bpp = fmt == IRC_FORMAT_RGB || fmt == IRC_FORMAT_BGR ? 3 : 4;
  f->stride[0] = w * bpp + 7;   /* padded rows, as buffers often have */
  f->data[0] = buf;
  return (size_t) f->stride[0] * h;
}

static irc_model *
identity_model (void)
{
  irc_config cfg;
  irc_error err = {0};
  irc_model *m = NULL;
  CHECK (irc_config_named ("tiny8", &cfg, &err) == IRC_OK);
  /* zero weights: every block adds nothing, the output is the input */
  CHECK (irc_model_new (&cfg, NULL, NULL, &m, &err) == IRC_OK);
  return m;
}

static void
test_formats (void)
{
  irc_model *m = identity_model ();
  const int w = 17, h = 13;
  for (int f = 0; f < IRC_FORMAT_COUNT; f++) {
    for (int mat = 0; mat < 2; mat++)
      for (int full = 0; full < 2; full++) {
        const int yuv = f == IRC_FORMAT_I420 || f == IRC_FORMAT_NV12;
        if (!yuv && (mat || full))
          continue;
        irc_runner_params p = IRC_RUNNER_DEFAULTS;
        p.width = w, p.height = h, p.format = (irc_pixel_format) f;
        p.matrix = (irc_matrix) mat, p.full_range = full, p.backend = backend;
        irc_runner *r = NULL;
        irc_error err = {0};
        CHECK (irc_runner_new (m, &p, &r, &err) == IRC_OK);
        irc_frame in, out;
        const size_t size = layout (&in, NULL, p.format, w, h);
        uint8_t *a = malloc (size), *b = malloc (size);
        for (size_t i = 0; i < size; i++)
          a[i] = (uint8_t) next ();
        if (yuv) {
          /* keep YUV inside the RGB gamut so that nothing clips: mid chroma */
          layout (&in, a, p.format, w, h);
          const int planes = f == IRC_FORMAT_I420 ? 3 : 2;
          for (int pl = 1; pl < planes; pl++)
            for (size_t i = 0; i < (size_t) in.stride[pl] * ((h + 1) / 2); i++)
              in.data[pl][i] = (uint8_t) (118 + (next () % 21));
          for (size_t i = 0; i < (size_t) in.stride[0] * h; i++)
            in.data[0][i] = (uint8_t) (full ? 40 + next () % 176 : 50 + next () % 150);
        }
        memcpy (b, a, size);
        layout (&in, a, p.format, w, h);
        layout (&out, b, p.format, w, h);
        CHECK (irc_runner_process (r, &in, &out, NULL, &err) == IRC_OK);
        /* compare the pixels (row padding is not ours to write) */
        int worst = 0;
        const int planes = f == IRC_FORMAT_I420 ? 3 : f == IRC_FORMAT_NV12 ? 2 : 1;
        for (int pl = 0; pl < planes; pl++) {
          const int rows = pl ? (h + 1) / 2 : h;
          const int bytes = f == IRC_FORMAT_I420 ? (pl ? (w + 1) / 2 : w)
              : f == IRC_FORMAT_NV12 ? (pl ? 2 * ((w + 1) / 2) : w)
              : w * (f == IRC_FORMAT_RGB || f == IRC_FORMAT_BGR ? 3 : 4);
          for (int y = 0; y < rows; y++)
            for (int x = 0; x < bytes; x++) {
              const int d = abs (in.data[pl][y * in.stride[pl] + x] - out.data[pl][y * out.stride[pl] + x]);
              worst = d > worst ? d : worst;
            }
        }
        printf ("format %-5s matrix %d full %d: max diff %d\n", irc_pixel_format_name (p.format),
            mat, full, worst);
        /* 8-bit RGB comes back bit-exact; YUV through float RGB and back
         * within one step of rounding */
        CHECK (worst <= (yuv ? 1 : 0));
        /* in place too */
        if (!yuv) {
          CHECK (irc_runner_process (r, &in, &in, NULL, &err) == IRC_OK);
          CHECK (memcmp (a, b, size) == 0 || worst == 0);
        }
        free (a), free (b);
        irc_runner_free (&r);
        CHECK (r == NULL);
      }
  }
  /* known colours: BT.709 limited white and black, BT.601 full grey */
  {
    uint8_t y[4] = {235, 16, 235, 16}, u = 128, v = 128;
    irc_frame f = {{y, &u, &v}, {2, 1, 1}};
    float rgb[12];
    irc_error err = {0};
    CHECK (irc_frame_to_float (rgb, &f, 2, 2, IRC_FORMAT_I420, IRC_MATRIX_BT709, 0, &err) == IRC_OK);
    CHECK (fabsf (rgb[0] - 1) < 1e-6f && fabsf (rgb[1]) < 1e-6f && fabsf (rgb[8] - 1) < 1e-6f);
  }
  irc_model_free (&m);
}

/* A textured scene: smooth random blobs, different per seed. */
static void
scene_texture (float *tex, int w, int h, unsigned s)
{
  float cx[12], cy[12], rad[12], col[12][3];
  unsigned st = s;
  for (int i = 0; i < 12; i++) {
    test_lcg (&st); cx[i] = (st >> 8) % w;
    test_lcg (&st); cy[i] = (st >> 8) % h;
    test_lcg (&st); rad[i] = 8 + (st >> 8) % (w / 3);
    for (int c = 0; c < 3; c++) {
      test_lcg (&st);
      col[i][c] = ((st >> 8) % 1000) / 1000.0f;
    }
  }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        float v = 0.2f;
        for (int i = 0; i < 12; i++) {
          const float d2 = ((x - cx[i]) * (x - cx[i]) + (y - cy[i]) * (y - cy[i])) / (rad[i] * rad[i]);
          v += col[i][c] * expf (-d2);
        }
        tex[((size_t) c * h + y) * w + x] = v > 1 ? 1 : v;
      }
}

static void
test_scenes (void)
{
  irc_model *m = identity_model ();
  const int w = 96, h = 64, tw = 192, th = 128;
  irc_runner_params p = IRC_RUNNER_DEFAULTS;
  p.width = w, p.height = h, p.format = IRC_FORMAT_RGB, p.backend = backend;
  irc_runner *r = NULL;
  irc_error err = {0};
  CHECK (irc_runner_new (m, &p, &r, &err) == IRC_OK);
  float *tex = malloc ((size_t) 3 * tw * th * sizeof (float));
  uint8_t *frame = malloc ((size_t) 3 * w * h);
  irc_frame f = {{frame}, {3 * w}};
  int cuts = 0, cut_at[8];
  float worst_in_scene = 0;
  for (int s = 0; s < 3; s++) {
    scene_texture (tex, tw, th, 1000u + 77u * s);
    for (int i = 0; i < 30; i++) {
      /* scene 0: camera pans 2 px a frame; scene 1: fades to 30 %; scene 2:
       * static with fresh noise every frame (rain-like) */
      const int ox = s == 0 ? 2 * i : 10, oy = s == 0 ? i : 5;
      const float gain = s == 1 ? 1.0f - 0.7f * i / 29.0f : 1.0f;
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          for (int c = 0; c < 3; c++) {
            float v = tex[((size_t) c * th + y + oy) * tw + x + ox] * gain;
            if (s == 2)
              v += ((next () % 1000) / 1000.0f - 0.5f) * 0.1f;
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            frame[(y * w + x) * 3 + c] = (uint8_t) lroundf (v * 255);
          }
      irc_frame_result res;
      CHECK (irc_runner_process (r, &f, &f, &res, &err) == IRC_OK);
      const int frame_no = s * 30 + i;
      if (res.scene_cut && frame_no > 0) {
        if (cuts < 8)
          cut_at[cuts] = frame_no;
        cuts++;
      } else if (frame_no > 0 && res.scene_score > worst_in_scene) {
        worst_in_scene = res.scene_score;
      }
      if (frame_no == 30 || frame_no == 60)
        printf ("cut score at frame %d: %.3f\n", frame_no, res.scene_score);
    }
  }
  irc_runner_stats stats;
  irc_runner_get_stats (r, &stats);
  printf ("cuts %d (at %d, %d), style passes %llu, highest score within a scene %.3f (threshold %.2f)\n",
      cuts, cuts > 0 ? cut_at[0] : -1, cuts > 1 ? cut_at[1] : -1,
      (unsigned long long) stats.style_passes, worst_in_scene, p.scene_threshold);
  CHECK (cuts == 2 && cut_at[0] == 30 && cut_at[1] == 60);
  CHECK (stats.style_passes == 3 && stats.scenes == 3 && stats.frames == 90);

  /* reset starts a scene; style_interval adds passes within one */
  irc_runner_reset (r);
  irc_frame_result res;
  CHECK (irc_runner_process (r, &f, &f, &res, &err) == IRC_OK && res.scene_cut && res.style_pass);
  irc_runner_free (&r);
  p.style_interval = 10;
  CHECK (irc_runner_new (m, &p, &r, &err) == IRC_OK);
  for (int i = 0; i < 30; i++)
    CHECK (irc_runner_process (r, &f, &f, NULL, &err) == IRC_OK);
  irc_runner_get_stats (r, &stats);
  CHECK (stats.style_passes == 3 && stats.scenes == 1);
  irc_runner_free (&r);
  free (tex), free (frame);
  irc_model_free (&m);
}

/* Tiles against the whole frame at once, and no allocation per frame. */
/* Tiled against untiled output of @m on a @w x @h texture (with bright
 * streaks when @rain) through the runner, with @window as the runner's
 * tlc_window, @overlap px of context and @maps as its window_maps: every
 * sample within @tolerance, nothing allocated per frame. Returns the
 * largest difference seen. */
static int
tiles_match (const irc_model *m, const char *what, int w, int h, int rain, const int *tiles,
    int n_tiles, int tolerance, int window, int overlap, int maps)
{
  int worst_of_all = 0;
  irc_error err = {0};
  float *tex = malloc ((size_t) 3 * w * h * sizeof (float));
  scene_texture (tex, w, h, 4242u);
  for (int s = 0; rain && s < w * h / 400; s++) {
    /* a streak 2 px wide, 12-30 px long, slanting right as it falls */
    const int x0 = (int) (next () % (unsigned) w), y0 = (int) (next () % (unsigned) h);
    const int len = 12 + (int) (next () % 19u);
    for (int t = 0; t < len; t++)
      for (int dx = 0; dx < 2; dx++) {
        const int x = x0 + t / 4 + dx, y = y0 + t;
        if (x < w && y < h)
          for (int c = 0; c < 3; c++) {
            float *v = tex + ((size_t) c * h + y) * w + x;
            *v = *v + 0.35f > 1.0f ? 1.0f : *v + 0.35f;
          }
      }
  }
  uint8_t *src = malloc ((size_t) 3 * w * h), *ref = malloc ((size_t) 3 * w * h);
  uint8_t *out = malloc ((size_t) 3 * w * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++)
        src[(y * w + x) * 3 + c] = (uint8_t) lroundf (tex[((size_t) c * h + y) * w + x] * 255);
  irc_frame fin = {{src}, {3 * w}}, fref = {{ref}, {3 * w}}, fout = {{out}, {3 * w}};
  irc_runner_params p = IRC_RUNNER_DEFAULTS;
  p.width = w, p.height = h, p.format = IRC_FORMAT_RGB, p.backend = backend;
  p.tile_size = 0;
  p.tlc_window = window;
  p.tile_overlap = overlap;
  p.window_maps = maps;
  irc_runner *r = NULL;
  CHECK (irc_runner_new (m, &p, &r, &err) == IRC_OK);
  CHECK (irc_runner_process (r, &fin, &fref, NULL, &err) == IRC_OK);
  long changed = 0;
  for (size_t i = 0; i < (size_t) 3 * w * h; i++)
    changed += ref[i] != src[i];
  printf ("%s, %dx%d untiled: %ld of %d samples changed by the network\n", what, w, h, changed,
      3 * w * h);
  CHECK (changed > w * h / 10);   /* the test is void if the network did nothing */
  irc_runner_free (&r);
  for (int t = 0; t < n_tiles; t++) {
    p.tile_size = tiles[t];
    CHECK (irc_runner_new (m, &p, &r, &err) == IRC_OK);
    CHECK (irc_runner_process (r, &fin, &fout, NULL, &err) == IRC_OK);
    const long before = allocs;
    CHECK (irc_runner_process (r, &fin, &fout, NULL, &err) == IRC_OK);
    const long per_frame = allocs - before;
    int worst = 0;
    for (size_t i = 0; i < (size_t) 3 * w * h; i++) {
      const int d = abs (out[i] - ref[i]);
      worst = d > worst ? d : worst;
    }
    irc_runner_stats st;
    irc_runner_get_stats (r, &st);
    printf ("  tile %d (+%d context): %d tiles, max diff to untiled %d/255, %ld allocations "
        "per frame\n", tiles[t], p.tile_overlap, st.tiles_per_frame, worst, per_frame);
    CHECK (st.tiles_per_frame > 1);
    CHECK (tolerance < 0 || worst <= tolerance);
    CHECK (per_frame == 0);
    worst_of_all = worst > worst_of_all ? worst : worst_of_all;
    irc_runner_free (&r);
  }
  free (tex), free (src), free (ref), free (out);
  return worst_of_all;
}

/* A random lite16 model, its blocks pooling in windows smaller than the
 * tiles (@global 0) or over the whole frame (@global 1: once per scene, on
 * the runner's view of the frame, which makes the tiles pool alike). */
static void
test_tiles (int w, int h, const int *tiles, int n_tiles, int tolerance, int global)
{
  irc_config cfg;
  irc_error err = {0};
  CHECK (irc_config_named ("lite16", &cfg, &err) == IRC_OK);
  irc_model *m = NULL;
  float scale = 0.2f;
  CHECK (irc_model_new (&cfg, small_weights, &scale, &m, &err) == IRC_OK);
  const irc_runner_params defaults = IRC_RUNNER_DEFAULTS;
  tiles_match (m, global ? "random lite16, scene pool" : "random lite16, windowed pool", w, h,
      0, tiles, n_tiles, tolerance, global ? -1 : w < 400 ? 48 : 192, defaults.tile_overlap, 0);
  irc_model_free (&m);
}

/* Attention maps through the runner on a random lite16 pooling in
 * @window-px windows (a frame above 512 px: the view is every f-th pixel),
 * and the net API refusing what it cannot do, naming why. */
static void
test_attention_maps (int w, int h, const int *tiles, int n_tiles, int tolerance, int window)
{
  irc_config cfg;
  irc_error err = {0};
  CHECK (irc_config_named ("lite16", &cfg, &err) == IRC_OK);
  irc_model *m = NULL;
  float scale = 0.2f;
  CHECK (irc_model_new (&cfg, small_weights, &scale, &m, &err) == IRC_OK);
  const irc_runner_params defaults = IRC_RUNNER_DEFAULTS;
  tiles_match (m, "random lite16, windowed pool, attention maps", w, h, 0, tiles, n_tiles,
      tolerance, window, backend == IRC_BACKEND_CPU ? defaults.tile_overlap : 32, 1);

  irc_net_params np = IRC_NET_DEFAULTS;
  np.backend = backend;
  irc_net *global = NULL, *windowed = NULL;
  CHECK (irc_net_new (m, 64, 48, &np, &global, &err) == IRC_OK);
  np.tlc_window = 32;
  CHECK (irc_net_new (m, 64, 48, &np, &windowed, &err) == IRC_OK);
  CHECK (irc_net_attention_maps_size (global, 64, 48) == 0);
  /* one NAFBlock per level: 16 + 32 channels at 64x48, 32 + 48 at 32x24,
   * 48 + 64 at 16x12, 64 at 8x6 */
  CHECK (irc_net_attention_maps_size (windowed, 64, 48)
      == (size_t) 48 * 3072 + 80 * 768 + 112 * 192 + 64 * 48);
  float one = 0.0f;
  CHECK (irc_net_set_attention_maps (global, &one, 64, 48, 1, &err) == IRC_ERR_UNSUPPORTED);
  printf ("global pool: %s\n", err.message);
  CHECK (strstr (err.message, "whole frame") != NULL);
  CHECK (irc_net_set_attention_maps (windowed, &one, 0, 48, 1, &err) == IRC_ERR_INVALID);
  static float frame[3 * 64 * 48];
  CHECK (irc_net_restore_recording_maps (windowed, NULL, frame, 64, 48, 0, NULL, &err)
      == IRC_ERR_INVALID);
  /* no room planned for maps: refused, naming the parameter */
  CHECK (irc_net_set_attention_maps (windowed, frame, 64, 48, 1, &err) == IRC_ERR_UNSUPPORTED);
  printf ("no room: %s\n", err.message);
  CHECK (strstr (err.message, "maps_width") != NULL);
  irc_net_free (&global);
  irc_net_free (&windowed);
  irc_model_free (&m);
}

/* The bundled model @name from the build tree (IRC_BUILD_DIR). */
static irc_model *
bundled_model (const char *name)
{
  const char *build = getenv ("IRC_BUILD_DIR");
  char path[1024];
  snprintf (path, sizeof path, "%s/gst/models/%s.safetensors", build ? build : "build", name);
  irc_model *m = NULL;
  irc_error err = {0};
  CHECK (irc_model_load (path, NULL, &m, &err) == IRC_OK);
  return m;
}

/* The bundled derain model (global pool) at 1280x720 with the runner's
 * defaults: its tiles agree with the untiled frame within 1/255. */
static void
test_bundled_derain_tiles (void)
{
  irc_model *m = bundled_model ("derain");
  const irc_runner_params defaults = IRC_RUNNER_DEFAULTS;
  const int tiles[2] = {128, 512};
  tiles_match (m, "bundled derain, streaks", 1280, 720, 1, tiles, 2, 1, 0,
      defaults.tile_overlap, 0);
  irc_model_free (&m);
}

/* The bundled all-in-one model pools in 384-pixel windows, wider than the
 * tiles: each tile pooling its own windows differs from the untiled frame
 * at its seams; with attention maps (window_maps) every tile agrees with
 * the untiled frame within 1/255. */
static void
test_bundled_window_tiles (void)
{
  irc_model *m = bundled_model ("auto");
  const irc_runner_params defaults = IRC_RUNNER_DEFAULTS;
  const int tiles[2] = {128, 512};
  const int apart = tiles_match (m, "bundled auto, its own windows per tile", 1280, 720, 1,
      tiles, 2, -1, 0, defaults.tile_overlap, 0);
  CHECK (apart > 1);   /* what the maps are for */
  tiles_match (m, "bundled auto, attention maps", 1280, 720, 1, tiles, 2, 1, 0,
      defaults.tile_overlap, 1);
  irc_model_free (&m);
}

/* irc_runner_new() on 200x120 RGB with @tile, @overlap and @window; fails
 * the test unless it succeeds and a frame comes back unchanged (the model
 * is the identity). Returns the runner's warning (a copy) or NULL. */
static char *
runner_warning (const irc_model *m, int tile, int overlap, int window)
{
  enum { W = 200, H = 120 };
  static uint8_t in[W * H * 3], out[W * H * 3];
  for (size_t i = 0; i < sizeof in; i++)
    in[i] = (uint8_t) (next () >> 4);
  irc_runner_params p = IRC_RUNNER_DEFAULTS;
  p.width = W, p.height = H, p.format = IRC_FORMAT_RGB, p.backend = backend;
  p.tile_size = tile, p.tile_overlap = overlap, p.tlc_window = window;
  irc_runner *r = NULL;
  irc_error err = {0};
  CHECK (irc_runner_new (m, &p, &r, &err) == IRC_OK);
  irc_frame fin = {{in}, {3 * W}}, fout = {{out}, {3 * W}};
  CHECK (irc_runner_process (r, &fin, &fout, NULL, &err) == IRC_OK);
  CHECK (memcmp (in, out, sizeof in) == 0);
  const char *w = irc_runner_warning (r);
  char *copy = w ? strdup (w) : NULL;
  CHECK (!w || copy);
  if (w)
    printf ("tile %d, overlap %d, window %d: %s\n", tile, overlap, window, w);
  irc_runner_free (&r);
  return copy;
}

static void
expect_warning (char *w, const char *words)
{
  if (!w || !strstr (w, words)) {
    fprintf (stderr, "expected a warning with '%s', got '%s'\n", words, w ? w : "(none)");
    exit (1);
  }
  free (w);
}

/* Settings the runner cannot take as given (an overlap of half the tile or
 * more, an attention window wider than the tiles, or than the frame when
 * asked for) are said through irc_runner_warning() with what it does
 * instead, and the frame is still restored; out-of-range windows are
 * refused; a model without tlc_window metadata pools globally. */
static void
test_warnings (void)
{
  irc_model *m = identity_model ();
  CHECK (irc_model_tlc_window (m) == 0);     /* no metadata: the paper's global pool */
  CHECK (runner_warning (m, 0, 32, 0) == NULL);
  expect_warning (runner_warning (m, 64, 32, 0), "tile overlap 32 px is half the 64 px tile "
      "size or more; using 24 px of overlap instead");
  expect_warning (runner_warning (m, 64, 30, -1), "tile overlap 30 px (32 once rounded up to "
      "a multiple of 8) is half the 64 px tile size or more; using 24 px");
  expect_warning (runner_warning (m, 16, 1024, 0), "using 8 px of overlap instead");
  CHECK (runner_warning (m, 64, 24, 0) == NULL);
  CHECK (runner_warning (m, 64, 24, 48) == NULL);
  CHECK (runner_warning (m, 0, 32, -1) == NULL);
  CHECK (runner_warning (m, 1024, 1024, 0) == NULL);   /* not tiled: the overlap is unused */
  expect_warning (runner_warning (m, 64, 16, 200), "the requested attention (TLC) window of "
      "200 px is larger than the tiles it runs in");
  /* both at once, joined */
  char *w = runner_warning (m, 64, 40, 300);
  CHECK (w && strstr (w, "using 24 px") && strstr (w, "; the requested attention"));
  free (w);
  expect_warning (runner_warning (m, 0, 32, 500), "window of 500 px is larger than the "
      "200x120 frame: it pools 200x120 px instead, the whole frame, as the global pool does");
  expect_warning (runner_warning (m, 0, 32, 150), "it pools 150x120 px instead");

  /* a model's own window: said when it does not fit the tiles, not when it
   * is wider than an untiled frame (that is its global pool) */
  char dir[] = "/tmp/irc-runner-XXXXXX", path[64];
  CHECK (mkdtemp (dir) != NULL);
  snprintf (path, sizeof path, "%s/w.safetensors", dir);
  const char *meta[] = {"tlc_window", "256"};
  irc_error err = {0};
  CHECK (irc_model_save (m, path, 0, meta, 1, &err) == IRC_OK);
  irc_model *own = NULL;
  CHECK (irc_model_load (path, NULL, &own, &err) == IRC_OK);
  CHECK (irc_model_tlc_window (own) == 256);
  CHECK (runner_warning (own, 0, 32, 0) == NULL);
  expect_warning (runner_warning (own, 64, 16, 0), "the model's attention (TLC) window of "
      "256 px is larger than the tiles");
  CHECK (runner_warning (own, 64, 16, 40) == NULL);
  CHECK (runner_warning (own, 64, 16, -1) == NULL);
  /* a route's own window is checked too, and a sentence is said once */
  for (int same = 0; same < 2; same++) {
    irc_runner_params rp = IRC_RUNNER_DEFAULTS;
    rp.width = 200, rp.height = 120, rp.format = IRC_FORMAT_RGB, rp.backend = backend;
    rp.tile_size = 64, rp.tile_overlap = 16;
    rp.routes[1] = own;
    irc_runner *rr = NULL;
    CHECK (irc_runner_new (same ? own : m, &rp, &rr, &err) == IRC_OK);
    const char *w = irc_runner_warning (rr), *first = w ? strstr (w, "window of 256 px") : NULL;
    CHECK (first && !strstr (first + 1, "window of 256 px"));
    irc_runner_free (&rr);
  }
  irc_model_free (&own);
  remove (path);
  remove (dir);

  irc_runner_params p = IRC_RUNNER_DEFAULTS;
  p.width = 32, p.height = 32, p.format = IRC_FORMAT_RGB;
  irc_runner *r = NULL;
  for (int bad = 0; bad < 2; bad++) {
    p.tlc_window = bad ? 16385 : -2;
    CHECK (irc_runner_new (m, &p, &r, &err) == IRC_ERR_INVALID && r == NULL);
    CHECK (strstr (err.message, "attention window") != NULL);
  }
  irc_model_free (&m);
}

/* Usage: test_runner [cpu|vulkan]: the same checks on either backend. */
int
main (int argc, char **argv)
{
  if (argc > 1 && !strcmp (argv[1], "bundled")) {
    test_bundled_derain_tiles ();
    test_bundled_window_tiles ();
    return 0;
  }
  if (argc > 1 && !strcmp (argv[1], "vulkan")) {
    backend = IRC_BACKEND_VULKAN;
    irc_model *m = identity_model ();
    irc_net *net = NULL;
    irc_net_params np = IRC_NET_DEFAULTS;
    np.backend = IRC_BACKEND_VULKAN;
    irc_error err = {0};
    if (irc_net_new (m, 8, 8, &np, &net, &err) != IRC_OK) {
      printf ("no Vulkan device: %s\n", err.message);
      irc_model_free (&m);
      return TEST_SKIP;
    }
    irc_net_free (&net);
    irc_model_free (&m);
  }
  test_formats ();
  test_scenes ();
  if (backend == IRC_BACKEND_CPU)
    test_warnings ();   /* the runner's own logic: once is enough */
  if (backend == IRC_BACKEND_CPU) {
    const int tiles[3] = {128, 256, 512};
    test_tiles (600, 560, tiles, 3, 1, 0);   /* within 1/255 */
    const int scene_tiles[2] = {128, 512};
    test_tiles (600, 560, scene_tiles, 2, 1, 1);
    const int map_tiles[2] = {128, 512};
    test_attention_maps (600, 560, map_tiles, 2, 1, 192);
  } else {
    /* lavapipe runs shaders on the CPU slowly: a smaller frame and tiles,
     * where 32 pixels of context are a larger share of what the deep levels
     * see, so a sample may land one step further off (2/255 seen at tile 64);
     * tiles above twice the context, which the runner would otherwise cut */
    const int tiles[2] = {104, 128};
    test_tiles (136, 104, tiles, 2, 2, 0);
    test_tiles (136, 104, tiles + 1, 1, 2, 1);   /* the scene pool: one tiling is enough */
    /* attention maps: tiles of 64 (the view is the frame itself) */
    const int map_tiles[1] = {64};
    test_attention_maps (136, 104, map_tiles, 1, 1, 48);
  }
  return 0;
}
