/* irc-sample: renders the project's own clean sample clip, a dashcam-like
 * drive (sky, hills, buildings, road markings, a moving camera), as PNG
 * frames; irc-degrade then adds rain to it for the demo. Needs no data. */
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static unsigned rng = 12345;

static double
rnd (void)
{
  rng = rng * 1664525u + 1013904223u;
  return (rng >> 8) / 16777216.0;
}

typedef struct {
  double x, w, h, r, g, b;
  int side;
} building;

static void
draw_frame (cairo_t *cr, int W, int H, int t, const building *bs, int nb)
{
  const double horizon = H * 0.45, speed = 6.0;
  /* sky */
  cairo_pattern_t *sky = cairo_pattern_create_linear (0, 0, 0, horizon);
  cairo_pattern_add_color_stop_rgb (sky, 0, 0.35, 0.5, 0.75);
  cairo_pattern_add_color_stop_rgb (sky, 1, 0.78, 0.84, 0.9);
  cairo_set_source (cr, sky);
  cairo_paint (cr);
  cairo_pattern_destroy (sky);
  /* drifting clouds */
  for (int i = 0; i < 7; i++) {
    const double cx = fmod (i * 173.0 + t * 0.6, W + 200) - 100, cy = horizon * (0.15 + 0.1 * (i % 3));
    cairo_pattern_t *c = cairo_pattern_create_radial (cx, cy, 5, cx, cy, 60 + 10 * i);
    cairo_pattern_add_color_stop_rgba (c, 0, 1, 1, 1, 0.8);
    cairo_pattern_add_color_stop_rgba (c, 1, 1, 1, 1, 0);
    cairo_set_source (cr, c);
    cairo_save (cr);
    cairo_translate (cr, cx, cy);
    cairo_scale (cr, 2.2, 0.6);
    cairo_translate (cr, -cx, -cy);
    cairo_arc (cr, cx, cy, 60 + 10 * i, 0, 2 * M_PI);
    cairo_fill (cr);
    cairo_restore (cr);
    cairo_pattern_destroy (c);
  }
  /* hills, slowly parallaxing */
  cairo_move_to (cr, 0, horizon);
  for (int x = 0; x <= W; x += 4) {
    const double u = x + t * 0.8;
    cairo_line_to (cr, x, horizon - 25 - 18 * sin (u * 0.011) - 9 * sin (u * 0.037 + 1.3));
  }
  cairo_line_to (cr, W, horizon);
  cairo_close_path (cr);
  cairo_set_source_rgb (cr, 0.33, 0.45, 0.33);
  cairo_fill (cr);
  /* ground and road in perspective */
  cairo_rectangle (cr, 0, horizon, W, H - horizon);
  cairo_set_source_rgb (cr, 0.38, 0.5, 0.3);
  cairo_fill (cr);
  const double vx = W * 0.5 + 20 * sin (t * 0.03);
  cairo_move_to (cr, vx - 6, horizon);
  cairo_line_to (cr, vx + 6, horizon);
  cairo_line_to (cr, W * 0.95, H);
  cairo_line_to (cr, W * 0.05, H);
  cairo_close_path (cr);
  cairo_set_source_rgb (cr, 0.3, 0.3, 0.32);
  cairo_fill (cr);
  /* dashed centre line moving towards the camera */
  for (int k = 0; k < 12; k++) {
    const double z0 = fmod (k * 40.0 - t * speed, 480.0);
    const double z = z0 < 0 ? z0 + 480 : z0;
    const double s0 = 1.0 / (1.0 + z / 40.0), s1 = 1.0 / (1.0 + (z + 18) / 40.0);
    const double y0 = horizon + (H - horizon) * s0, y1 = horizon + (H - horizon) * s1;
    const double w0 = 6 * s0, w1 = 6 * s1;
    const double x0 = vx + (W * 0.5 - vx) * s0, x1 = vx + (W * 0.5 - vx) * s1;
    cairo_move_to (cr, x0 - w0, y0);
    cairo_line_to (cr, x0 + w0, y0);
    cairo_line_to (cr, x1 + w1, y1);
    cairo_line_to (cr, x1 - w1, y1);
    cairo_close_path (cr);
    cairo_set_source_rgb (cr, 0.92, 0.9, 0.75);
    cairo_fill (cr);
  }
  /* buildings on both sides, passing by */
  for (int i = 0; i < nb; i++) {
    const building *b = &bs[i];
    double x = fmod (b->x - t * 2.5 * b->side, W * 1.6);
    if (x < 0)
      x += W * 1.6;
    x -= W * 0.3;
    const double top = horizon - b->h;
    cairo_rectangle (cr, x, top, b->w, b->h + 8);
    cairo_set_source_rgb (cr, b->r, b->g, b->b);
    cairo_fill (cr);
    /* windows */
    for (double wy = top + 8; wy < horizon - 10; wy += 16)
      for (double wx = x + 6; wx < x + b->w - 10; wx += 14) {
        cairo_rectangle (cr, wx, wy, 7, 9);
        const double lit = fmod (wx * 7.3 + wy * 3.1, 5.0) < 1.2;
        cairo_set_source_rgb (cr, lit ? 0.95 : 0.25, lit ? 0.85 : 0.3, lit ? 0.55 : 0.38);
        cairo_fill (cr);
      }
  }
}

int
main (int argc, char **argv)
{
  int W = 640, H = 360, frames = 48;
  const char *out = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp (argv[i], "--size") && i + 1 < argc)
      sscanf (argv[++i], "%dx%d", &W, &H);
    else if (!strcmp (argv[i], "--frames") && i + 1 < argc)
      frames = atoi (argv[++i]);
    else if (!strcmp (argv[i], "--help")) {
      printf ("usage: irc-sample [--size WxH] [--frames N] OUTDIR\n"
          "Renders a clean synthetic drive as OUTDIR/00001.png, 00002.png...\n");
      return 0;
    } else
      out = argv[i];
  }
  if (!out || W < 64 || H < 64 || W > 4096 || H > 4096 || frames < 1) {
    fprintf (stderr, "usage: irc-sample [--size WxH] [--frames N] OUTDIR\n");
    return 2;
  }
  mkdir (out, 0755);
  building bs[16];
  for (int i = 0; i < 16; i++) {
    bs[i].x = i * W * 1.6 / 16 + rnd () * 20;
    bs[i].w = 50 + rnd () * 70;
    bs[i].h = 40 + rnd () * H * 0.3;
    const double g = 0.35 + rnd () * 0.4;
    bs[i].r = g + rnd () * 0.15, bs[i].g = g, bs[i].b = g - rnd () * 0.1;
    bs[i].side = 1;
  }
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create (s);
  for (int t = 0; t < frames; t++) {
    draw_frame (cr, W, H, t, bs, 16);
    char path[4096];
    snprintf (path, sizeof path, "%s/%05d.png", out, t + 1);
    if (cairo_surface_write_to_png (s, path) != CAIRO_STATUS_SUCCESS) {
      fprintf (stderr, "irc-sample: cannot write %s\n", path);
      return 1;
    }
  }
  cairo_destroy (cr);
  cairo_surface_destroy (s);
  return 0;
}
