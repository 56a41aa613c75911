/* plot: irc-train's loss and PSNR history and its PNG chart; see plot.h.
 * Long runs are averaged into at most one bin per horizontal pixel, drawn
 * light, with a moving average over them drawn dark. */
#include "train/plot.h"
#include "error.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
trp_init (trp_history *h)
{
  memset (h, 0, sizeof *h);
  h->val_input = NAN;
}

void
trp_clear (trp_history *h)
{
  free (h->iter);
  for (int k = 0; k < TRP_LOSSES; k++)
    free (h->loss[k]);
  free (h->val_iter);
  free (h->val_psnr);
  trp_init (h);
}

irc_status
trp_push (trp_history *h, int64_t iter, const double loss[TRP_LOSSES], irc_error *err)
{
  if (h->n == h->cap) {
    const size_t cap = h->cap ? 2 * h->cap : 1024;
    int64_t *it = realloc (h->iter, cap * sizeof *it);
    if (!it)
      return irc_fail (err, IRC_ERR_NOMEM, "out of memory for the loss history");
    h->iter = it;
    for (int k = 0; k < TRP_LOSSES; k++) {
      double *l = realloc (h->loss[k], cap * sizeof *l);
      if (!l)
        return irc_fail (err, IRC_ERR_NOMEM, "out of memory for the loss history");
      h->loss[k] = l;
    }
    h->cap = cap;
  }
  h->iter[h->n] = iter;
  for (int k = 0; k < TRP_LOSSES; k++)
    h->loss[k][h->n] = loss[k];
  h->n++;
  return IRC_OK;
}

irc_status
trp_push_val (trp_history *h, int64_t iter, double psnr, irc_error *err)
{
  if (h->n_val == h->cap_val) {
    const size_t cap = h->cap_val ? 2 * h->cap_val : 64;
    int64_t *it = realloc (h->val_iter, cap * sizeof *it);
    if (it)
      h->val_iter = it;
    double *p = it ? realloc (h->val_psnr, cap * sizeof *p) : NULL;
    if (!p)
      return irc_fail (err, IRC_ERR_NOMEM, "out of memory for the PSNR history");
    h->val_psnr = p;
    h->cap_val = cap;
  }
  h->val_iter[h->n_val] = iter;
  h->val_psnr[h->n_val] = psnr;
  h->n_val++;
  return IRC_OK;
}

/* ----------------------------------------------------------------- drawing */

typedef struct {
  double x, y, w, h;               /* plot area in pixels */
  double x0, x1, y0, y1;           /* data range (y in log10 when @logy) */
  int logy;
} panel;

static double
px_x (const panel *p, double x)
{
  return p->x + (x - p->x0) / (p->x1 - p->x0) * p->w;
}

static double
px_y (const panel *p, double y)
{
  const double v = p->logy ? log10 (y) : y;
  return p->y + p->h - (v - p->y0) / (p->y1 - p->y0) * p->h;
}

/* A round step giving about @n intervals over @range. */
static double
nice_step (double range, int n)
{
  const double raw = range / n, mag = pow (10.0, floor (log10 (raw))), f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static void
text (cairo_t *cr, double x, double y, const char *s, double align)
{
  cairo_text_extents_t e;
  cairo_text_extents (cr, s, &e);
  cairo_move_to (cr, x - align * e.x_advance, y);
  cairo_show_text (cr, s);
}

static void
fmt_iter (char *buf, size_t size, double v)
{
  if (fabs (v) >= 10000)
    snprintf (buf, size, "%gk", v / 1000);
  else
    snprintf (buf, size, "%g", v);
}

static void
draw_frame (cairo_t *cr, panel *p, const char *title)
{
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_rectangle (cr, p->x, p->y, p->w, p->h);
  cairo_fill (cr);
  cairo_set_line_width (cr, 1);
  cairo_set_font_size (cr, 11);
  char buf[32];
  /* x grid */
  const double xs = nice_step (p->x1 - p->x0, 6);
  for (double v = ceil (p->x0 / xs) * xs; v <= p->x1 + 1e-9; v += xs) {
    const double X = px_x (p, v);
    cairo_set_source_rgb (cr, 0.9, 0.9, 0.9);
    cairo_move_to (cr, floor (X) + 0.5, p->y);
    cairo_line_to (cr, floor (X) + 0.5, p->y + p->h);
    cairo_stroke (cr);
    cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
    fmt_iter (buf, sizeof buf, v);
    text (cr, X, p->y + p->h + 14, buf, 0.5);
  }
  /* y grid: decades and 2, 5 in log panels spanning less than a few decades */
  if (p->logy) {
    const int sub = p->y1 - p->y0 < 3;
    for (double d = floor (p->y0); d <= p->y1; d += 1)
      for (int m = 1; m <= 5; m += m == 1 ? 1 : 3) {
        if (m > 1 && !sub)
          continue;
        const double v = pow (10.0, d) * m;
        if (log10 (v) < p->y0 || log10 (v) > p->y1)
          continue;
        const double Y = px_y (p, v);
        cairo_set_source_rgb (cr, 0.9, 0.9, 0.9);
        cairo_move_to (cr, p->x, floor (Y) + 0.5);
        cairo_line_to (cr, p->x + p->w, floor (Y) + 0.5);
        cairo_stroke (cr);
        cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
        snprintf (buf, sizeof buf, "%g", v);
        text (cr, p->x - 4, Y + 4, buf, 1.0);
      }
  } else {
    const double ys = nice_step (p->y1 - p->y0, 5);
    for (double v = ceil (p->y0 / ys) * ys; v <= p->y1 + 1e-12; v += ys) {
      const double Y = px_y (p, v);
      cairo_set_source_rgb (cr, 0.9, 0.9, 0.9);
      cairo_move_to (cr, p->x, floor (Y) + 0.5);
      cairo_line_to (cr, p->x + p->w, floor (Y) + 0.5);
      cairo_stroke (cr);
      cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
      snprintf (buf, sizeof buf, "%.4g", fabs (v) < ys * 1e-6 ? 0.0 : v);
      text (cr, p->x - 4, Y + 4, buf, 1.0);
    }
  }
  cairo_set_source_rgb (cr, 0.4, 0.4, 0.4);
  cairo_rectangle (cr, p->x + 0.5, p->y + 0.5, p->w - 1, p->h - 1);
  cairo_stroke (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_font_size (cr, 13);
  text (cr, p->x, p->y - 6, title, 0.0);
}

/* Bin means of loss @k over at most @nb bins into @bx, @by; returns the count. */
static size_t
bin_series (const trp_history *h, int k, size_t nb, double *bx, double *by)
{
  if (h->n == 0)
    return 0;
  if (nb > h->n)
    nb = h->n;
  for (size_t b = 0; b < nb; b++) {
    const size_t i0 = b * h->n / nb, i1 = (b + 1) * h->n / nb;
    double sx = 0, sy = 0;
    for (size_t i = i0; i < i1; i++) {
      sx += (double) h->iter[i];
      sy += h->loss[k][i];
    }
    bx[b] = sx / (double) (i1 - i0);
    by[b] = sy / (double) (i1 - i0);
  }
  return nb;
}

static void
smooth (const double *y, double *out, size_t n)
{
  const size_t r = n / 60;
  for (size_t i = 0; i < n; i++) {
    const size_t a = i > r ? i - r : 0, b = i + r < n ? i + r : n - 1;
    double s = 0;
    for (size_t j = a; j <= b; j++)
      s += y[j];
    out[i] = s / (double) (b - a + 1);
  }
}

static void
y_range (panel *p, const double *y, size_t n, int logy)
{
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite (y[i]) || (logy && y[i] <= 0))
      continue;
    const double v = logy ? log10 (y[i]) : y[i];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  if (!(lo <= hi)) {
    lo = logy ? -2 : 0;
    hi = logy ? 0 : 1;
  }
  const double pad = hi > lo ? 0.05 * (hi - lo) : (logy ? 0.1 : fabs (hi) * 0.05 + 1e-3);
  p->y0 = lo - pad;
  p->y1 = hi + pad;
  p->logy = logy;
}

static void
polyline (cairo_t *cr, const panel *p, const double *x, const double *y, size_t n)
{
  int pen = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite (y[i]) || (p->logy && y[i] <= 0)) {
      pen = 0;
      continue;
    }
    const double X = px_x (p, x[i]), Y = px_y (p, y[i]);
    if (pen)
      cairo_line_to (cr, X, Y);
    else
      cairo_move_to (cr, X, Y);
    pen = 1;
  }
  cairo_stroke (cr);
}

static const double colors[TRP_LOSSES][3] = {
  { 0.1, 0.1, 0.1 }, { 0.12, 0.40, 0.75 }, { 0.80, 0.35, 0.10 }, { 0.15, 0.60, 0.25 },
  { 0.60, 0.20, 0.60 },
};

static void
draw_losses (cairo_t *cr, panel *p, const trp_history *h, const int *ks, int nk, int logy,
    const char *title, double *bx, double *by, double *sy, size_t nb)
{
  /* the range covers every series' bins */
  double *all = malloc (nb * nk * sizeof (double));
  size_t m = 0;
  for (int j = 0; j < nk && all; j++) {
    const size_t c = bin_series (h, ks[j], nb, bx, by);
    memcpy (all + m, by, c * sizeof (double));
    m += c;
  }
  y_range (p, all ? all : by, all ? m : 0, logy);
  free (all);
  draw_frame (cr, p, title);
  cairo_save (cr);
  cairo_rectangle (cr, p->x, p->y, p->w, p->h);
  cairo_clip (cr);
  for (int j = 0; j < nk; j++) {
    const double *c = colors[ks[j]];
    const size_t cnt = bin_series (h, ks[j], nb, bx, by);
    smooth (by, sy, cnt);
    cairo_set_line_width (cr, 1);
    cairo_set_source_rgba (cr, c[0], c[1], c[2], 0.25);
    polyline (cr, p, bx, by, cnt);
    cairo_set_line_width (cr, 2);
    cairo_set_source_rgb (cr, c[0], c[1], c[2]);
    polyline (cr, p, bx, sy, cnt);
  }
  cairo_restore (cr);
}

static void
legend (cairo_t *cr, const panel *p, const char *const *names, const int *ks, int nk)
{
  cairo_set_font_size (cr, 11);
  for (int j = 0; j < nk; j++) {
    const double *c = colors[ks[j]];
    const double x = p->x + p->w - 110, y = p->y + 16 + 16 * j;
    cairo_set_source_rgb (cr, c[0], c[1], c[2]);
    cairo_rectangle (cr, x, y - 8, 16, 3);
    cairo_fill (cr);
    cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
    text (cr, x + 22, y - 2, names[j], 0.0);
  }
}

static void
draw_psnr (cairo_t *cr, panel *p, const trp_history *h)
{
  double *y = malloc ((h->n_val + 1) * sizeof (double));
  if (!y)
    return;
  if (h->n_val)   /* memcpy from a NULL history is undefined even for 0 bytes */
    memcpy (y, h->val_psnr, h->n_val * sizeof (double));
  y[h->n_val] = h->val_input;
  y_range (p, y, h->n_val + 1, 0);
  char title[96];
  if (h->n_val)
    snprintf (title, sizeof title, "validation PSNR (dB, EMA): %.2f at %lld",
        h->val_psnr[h->n_val - 1], (long long) h->val_iter[h->n_val - 1]);
  else
    snprintf (title, sizeof title, "validation PSNR (dB, EMA)");
  draw_frame (cr, p, title);
  if (isfinite (h->val_input)) {
    const double dash[1] = { 5 };
    cairo_set_dash (cr, dash, 1, 0);
    cairo_set_line_width (cr, 1.5);
    cairo_set_source_rgb (cr, 0.5, 0.5, 0.5);
    const double Y = px_y (p, h->val_input);
    cairo_move_to (cr, p->x, Y);
    cairo_line_to (cr, p->x + p->w, Y);
    cairo_stroke (cr);
    cairo_set_dash (cr, NULL, 0, 0);
    cairo_set_font_size (cr, 11);
    char buf[48];
    snprintf (buf, sizeof buf, "input %.2f dB", h->val_input);
    text (cr, p->x + 6, Y - 4, buf, 0.0);
  }
  double *x = malloc ((h->n_val + 1) * sizeof (double));
  if (x) {
    for (size_t i = 0; i < h->n_val; i++)
      x[i] = (double) h->val_iter[i];
    cairo_set_line_width (cr, 2);
    cairo_set_source_rgb (cr, 0.75, 0.1, 0.1);
    polyline (cr, p, x, y, h->n_val);
    for (size_t i = 0; i < h->n_val; i++) {
      cairo_arc (cr, px_x (p, x[i]), px_y (p, y[i]), 3, 0, 2 * M_PI);
      cairo_fill (cr);
    }
  }
  free (x);
  free (y);
}

irc_status
trp_write_png (const char *path, const trp_history *h, const char *title, irc_error *err)
{
  const int W = 1200, H = 820, ml = 70, mr = 20, mt = 60, gap_x = 80, gap_y = 70, mb = 40;
  const double pw = (W - ml - mr - gap_x) / 2.0, ph = (H - mt - mb - gap_y) / 2.0;
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create (s);
  cairo_set_source_rgb (cr, 0.96, 0.96, 0.96);
  cairo_paint (cr);
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_font_size (cr, 15);
  text (cr, ml, 24, title, 0.0);

  double x0 = h->n ? (double) h->iter[0] : 0, x1 = h->n ? (double) h->iter[h->n - 1] : 1;
  for (size_t i = 0; i < h->n_val; i++) {
    x0 = (double) h->val_iter[i] < x0 ? (double) h->val_iter[i] : x0;
    x1 = (double) h->val_iter[i] > x1 ? (double) h->val_iter[i] : x1;
  }
  if (x1 <= x0)
    x1 = x0 + 1;
  panel p[4];
  for (int i = 0; i < 4; i++) {
    p[i].x = ml + (i % 2) * (pw + gap_x);
    p[i].y = mt + (i / 2) * (ph + gap_y);
    p[i].w = pw;
    p[i].h = ph;
    p[i].x0 = x0;
    p[i].x1 = x1;
  }
  const size_t nb = (size_t) pw;
  double *bx = malloc (nb * sizeof (double)), *by = malloc (nb * sizeof (double));
  double *sy = malloc (nb * sizeof (double));
  if (bx && by && sy) {
    const int pix[1] = { TRP_PIX }, ce[1] = { TRP_CE }, cs[2] = { TRP_CONTENT, TRP_STYLE };
    /* a degradation pre-training (irc-train --objective degradation) has
     * no pixel loss: its total, the head's cross-entropy, goes there */
    int has_pix = 0;
    for (size_t i = 0; i < h->n && !has_pix; i++)
      has_pix = h->loss[TRP_PIX][i] != 0.0;
    const int total[1] = { TRP_TOTAL };
    if (has_pix || h->n == 0)
      draw_losses (cr, &p[0], h, pix, 1, 1, "L1 pixel loss (log scale)", bx, by, sy, nb);
    else
      draw_losses (cr, &p[0], h, total, 1, 1, "degradation head loss (cross-entropy, log scale)",
          bx, by, sy, nb);
    draw_losses (cr, &p[1], h, ce, 1, 0, "InfoNCE loss", bx, by, sy, nb);
    draw_losses (cr, &p[2], h, cs, 2, 0, "content and style losses", bx, by, sy, nb);
    static const char *const names[2] = { "content", "style" };
    legend (cr, &p[2], names, cs, 2);
    draw_psnr (cr, &p[3], h);
  }
  free (bx);
  free (by);
  free (sy);
  cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
  cairo_set_font_size (cr, 11);
  text (cr, W / 2.0, H - 8, "iteration", 0.5);
  cairo_destroy (cr);

  char tmp[4096];
  snprintf (tmp, sizeof tmp, "%s.tmp%ld", path, (long) getpid ());
  cairo_status_t cs = cairo_surface_write_to_png (s, tmp);
  cairo_surface_destroy (s);
  if (cs != CAIRO_STATUS_SUCCESS) {
    unlink (tmp);
    return irc_fail (err, IRC_ERR_IO, "cannot write the plot %s: %s", tmp,
        cairo_status_to_string (cs));
  }
  if (rename (tmp, path) != 0) {
    unlink (tmp);
    return irc_fail (err, IRC_ERR_IO, "cannot rename %s to %s", tmp, path);
  }
  return IRC_OK;
}
