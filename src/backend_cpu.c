/* backend_cpu: the network's ops on the CPU, split into row bands or pixel
 * chunks that run on OpenMP threads, each band small enough to stay in cache;
 * GEMMs go to single-threaded OpenBLAS so the threads don't fight (only
 * while our ops run: see blas_serial_enter). */
#include "backend.h"
#include "error.h"
#include "kernels.h"
#include "ops/ref.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Floats of im2col per band: about 1 MB keeps the GEMM's B panel near L2. */
#define COL_BUDGET (256 * 1024)
/* Floats of NAFBlock temporaries per band/chunk. */
#define BAND_BUDGET (512 * 1024)

/* A NAFBlock's weights with the linear parts folded in once: LayerNorm
 * affines into the following 1x1 convolutions, gamma into conv5. */
typedef struct {
  const irc_nafblock_w *src;
  float *w1, *b1, *w4, *b4, *w5, *b5;
} cpu_block;

typedef struct {
  irc_backend base;
  int threads;
  size_t need_thread;        /* floats of scratch per thread */
  size_t need_t;             /* floats of the shared NAFBlock gate buffer */
  size_t need_sums;          /* doubles of per-band channel sums */
  size_t need_fold;          /* floats for the per-frame folded conv3 */
  size_t need_local;         /* floats of TLC's local means and attention map */
  float *scratch, *t, *fold, *local;
  double *sums;
  cpu_block *blocks;
  size_t n_blocks;
  float *block_arena;
  /* the channel attention's per-channel mean and scale (max_c each, the
   * widest NAFBlock's channels; in block_arena) */
  float *sca_mean, *sca_s;
} cpu_backend;

/* OpenBLAS's thread count is process-wide state, and the process may be
 * someone else's (a GStreamer pipeline, an application also calling BLAS):
 * instead of setting it to 1 for good at creation, our ops set it to 1 only
 * while they run and put the caller's value back after. Our OpenMP threads
 * split the work and call GEMM from inside the parallel regions, where a
 * threaded OpenBLAS would start its own threads on top of ours. A count of
 * the ops in flight (several backends may run at once, on other threads)
 * makes the first one in save the value and the last one out restore it;
 * while any of ours runs, other BLAS users of the process run serial too.
 * No OpenBLAS API sets the count per call or per thread. */
static pthread_mutex_t blas_lock = PTHREAD_MUTEX_INITIALIZER;
static int blas_users, blas_saved_threads;

static void
blas_serial_enter (void)
{
  pthread_mutex_lock (&blas_lock);
  if (blas_users++ == 0) {
    blas_saved_threads = openblas_get_num_threads ();
    if (blas_saved_threads != 1)
      openblas_set_num_threads (1);
  }
  pthread_mutex_unlock (&blas_lock);
}

static void
blas_serial_leave (void)
{
  pthread_mutex_lock (&blas_lock);
  if (--blas_users == 0 && blas_saved_threads != 1)
    openblas_set_num_threads (blas_saved_threads);
  pthread_mutex_unlock (&blas_lock);
}

static float *
thread_scratch (cpu_backend *cb)
{
  return cb->scratch + (size_t) omp_get_thread_num () * cb->need_thread;
}

static void
need (size_t *have, size_t want)
{
  if (want > *have)
    *have = want;
}

static size_t
max_size (size_t a, size_t b)
{
  return a > b ? a : b;
}

static int
clamp_int (long v, int lo, int hi)
{
  return v < lo ? lo : v > hi ? hi : (int) v;
}

/* bias, LeakyReLU and residual on rows [p0, p0 + n) of every channel */
static void
epilogue (irc_tensor dst, size_t p0, int n, const float *b, int leaky, const irc_tensor *res)
{
  const size_t plane = irc_tensor_plane (dst);
  for (int o = 0; o < dst.c; o++) {
    float *d = dst.data + o * plane + p0;
    if (b)
      irc_orc_add_scalar_f32 (d, b[o], n);
    if (leaky)
      irc_orc_leaky_relu_f32 (d, 0.1f, n);
    if (res)
      irc_orc_add_f32 (d, res->data + o * plane + p0, n);
  }
}

static void
cpu_conv (irc_backend *be, irc_tensor dst, irc_tensor src, const float *w, const float *b,
    int k, int stride, int leaky, const irc_tensor *residual)
{
  cpu_backend *cb = (cpu_backend *) be;
  const size_t plane = irc_tensor_plane (dst);
  if (k == 1) {
    const int chunk = clamp_int (COL_BUDGET / (src.c + dst.c), 256, 8192);
    const long n_chunks = (long) ((plane + chunk - 1) / chunk);
    if (be->measuring)
      return;
#pragma omp parallel for schedule(dynamic, 1) num_threads(cb->threads)
    for (long i = 0; i < n_chunks; i++) {
      const size_t p0 = (size_t) i * chunk;
      const int n = (int) (plane - p0 < (size_t) chunk ? plane - p0 : (size_t) chunk);
      irc_k_gemm (dst.data + p0, plane, w, src.c, dst.c, src.c, src.data + p0,
          irc_tensor_plane (src), n, 0);
      epilogue (dst, p0, n, b, leaky, residual);
    }
    return;
  }
  const int K = 9 * src.c;
  const int rows = clamp_int (COL_BUDGET / ((long) K * dst.w), 1, dst.h);
  const long n_bands = (dst.h + rows - 1) / rows;
  if (be->measuring) {
    /* rows = max(1, budget / (K w)) for any narrower frame too */
    need (&cb->need_thread, max_size ((size_t) K * dst.w, COL_BUDGET));
    return;
  }
#pragma omp parallel for schedule(dynamic, 1) num_threads(cb->threads)
  for (long i = 0; i < n_bands; i++) {
    const int y0 = (int) i * rows, y1 = y0 + rows < dst.h ? y0 + rows : dst.h;
    const int n = (y1 - y0) * dst.w;
    float *col = thread_scratch (cb);
    irc_k_im2col3x3 (col, src.data, src.c, src.h, src.w, stride, y0, y1, dst.w);
    irc_k_gemm (dst.data + (size_t) y0 * dst.w, plane, w, K, dst.c, K, col, n, n, 0);
    epilogue (dst, (size_t) y0 * dst.w, n, b, leaky, residual);
  }
}

static void
cpu_down (irc_backend *be, irc_tensor dst, irc_tensor src, const float *w)
{
  cpu_backend *cb = (cpu_backend *) be;
  const int K = 9 * src.c, co = src.c / 4;
  /* an even number of source rows per band: PixelUnshuffle pairs them */
  const int rows = 2 * clamp_int (COL_BUDGET / (2L * K * src.w), 1, src.h / 2);
  const long n_bands = (src.h + rows - 1) / rows;
  if (be->measuring) {
    need (&cb->need_thread, max_size ((size_t) 2 * K * src.w, COL_BUDGET) / K * (K + co));
    return;
  }
#pragma omp parallel for schedule(dynamic, 1) num_threads(cb->threads)
  for (long i = 0; i < n_bands; i++) {
    const int y0 = (int) i * rows, y1 = y0 + rows < src.h ? y0 + rows : src.h;
    const int n = (y1 - y0) * src.w;
    float *col = thread_scratch (cb), *out = col + (size_t) K * n;
    irc_k_im2col3x3 (col, src.data, src.c, src.h, src.w, 1, y0, y1, src.w);
    irc_k_gemm (out, n, w, K, co, K, col, n, n, 0);
    irc_k_pixel_unshuffle (dst.data + (size_t) (y0 / 2) * dst.w, irc_tensor_plane (dst), out,
        n, co, y1 - y0, src.w);
  }
}

static void
cpu_up (irc_backend *be, irc_tensor dst, irc_tensor src, irc_tensor skip, const float *up_w,
    const float *down_w)
{
  cpu_backend *cb = (cpu_backend *) be;
  const int K = 9 * src.c, a = src.c + skip.c;
  const int rows = clamp_int (COL_BUDGET / ((long) K * src.w), 1, src.h);
  const long n_bands = (src.h + rows - 1) / rows;
  if (be->measuring) {
    need (&cb->need_thread, max_size ((size_t) K * src.w, COL_BUDGET) / K * (K + 8 * src.c));
    return;
  }
  const size_t dplane = irc_tensor_plane (dst);
#pragma omp parallel for schedule(dynamic, 1) num_threads(cb->threads)
  for (long i = 0; i < n_bands; i++) {
    const int y0 = (int) i * rows, y1 = y0 + rows < src.h ? y0 + rows : src.h;
    const int n = (y1 - y0) * src.w;
    float *col = thread_scratch (cb), *conv = col + (size_t) K * n, *shuf = conv + 4 * src.c * n;
    irc_k_im2col3x3 (col, src.data, src.c, src.h, src.w, 1, y0, y1, src.w);
    irc_k_gemm (conv, n, up_w, K, 4 * src.c, K, col, n, n, 0);
    irc_k_pixel_shuffle (shuf, 4 * (size_t) n, conv, n, src.c, y1 - y0, src.w);
    /* 1x1 over cat(shuffled, skip) = W[:, :n] shuffled + W[:, n:] skip */
    const size_t p0 = (size_t) 2 * y0 * dst.w;
    irc_k_gemm (dst.data + p0, dplane, down_w, a, dst.c, src.c, shuf, 4 * (size_t) n, 4 * n, 0);
    irc_k_gemm (dst.data + p0, dplane, down_w + src.c, a, dst.c, skip.c, skip.data + p0,
        irc_tensor_plane (skip), 4 * n, 1);
  }
}

static const cpu_block *
find_block (cpu_backend *cb, const irc_nafblock_w *bw)
{
  for (size_t i = 0; i < cb->n_blocks; i++)
    if (cb->blocks[i].src == bw)
      return &cb->blocks[i];
  return NULL;
}

static int
nafblock_band_rows (int c, int w)
{
  return clamp_int (BAND_BUDGET / (3L * c * w) - 2, 4, 64);
}

static int
nafblock_chunk (int c)
{
  return clamp_int (BAND_BUDGET / (8L * c), 256, 16384) / 64 * 64;
}

/* One axis of the attention maps' sampling (irc_ref_sample_map's
 * arithmetic) for @n places from @origin: per place the map's two source
 * indices (exact in float) and the weight of the second, into @tab. */
static void
sample_table (float *tab, int n, float origin, float scale, int map_n)
{
  for (int i = 0; i < n; i++) {
    float at = (origin + (float) i + 0.5f) * scale - 0.5f;
    at = at < 0.0f ? 0.0f : at > (float) (map_n - 1) ? (float) (map_n - 1) : at;
    const int lo = (int) at;
    tab[3 * i] = (float) lo;
    tab[3 * i + 1] = (float) (lo + 1 < map_n ? lo + 1 : lo);
    tab[3 * i + 2] = at - (float) lo;
  }
}

/* NAFNet's TLC in place of the global pool: valid k x k box means of t
 * (double integral images), sca.1 applied per position as a GEMM, and t
 * scaled by the replicate-padded result. */
static void
local_attention (cpu_backend *cb, float *t, irc_tensor x, const irc_nafblock_w *bw)
{
  const irc_backend *be = &cb->base;
  const int c = x.c, h = x.h, w = x.w;
  /* read from the attention maps: every pixel's pool given (k = 1 places) */
  const int k = be->sca_map ? 1 : be->sca_window;
  const int kh = k < h ? k : h, kw = k < w ? k : w;
  const int vh = h - kh + 1, vw = w - kw + 1, oy = (h - vh) / 2, ox = (w - vw) / 2;
  const size_t plane = irc_tensor_plane (x), vplane = (size_t) vh * vw;
  float *means = cb->local, *smap = cb->local + (size_t) c * vplane;
  const double inv_area = 1.0 / ((double) kh * kw);
  if (be->sca_map) {
    /* irc_ref_sample_map's arithmetic, its row and column weights computed
     * once for every channel: the maps' two source indices (exact in float)
     * and the weight of the second */
    float *row_tab = cb->local + (size_t) 2 * c * plane, *col_tab = row_tab + (size_t) 3 * h;
    const int mh = be->sca_map_h, mw = be->sca_map_w;
    sample_table (row_tab, h, be->sca_map_y0, be->sca_map_scale, mh);
    sample_table (col_tab, w, be->sca_map_x0, be->sca_map_scale, mw);
#pragma omp parallel for schedule(dynamic, 1) num_threads(cb->threads)
    for (int ch = 0; ch < c; ch++) {
      const float *m = be->sca_map + (size_t) ch * mh * mw;
      float *dst = means + ch * vplane;
      for (int y = 0; y < h; y++) {
        const float *r0 = m + (size_t) row_tab[3 * y] * mw;
        const float *r1 = m + (size_t) row_tab[3 * y + 1] * mw;
        const float fy = row_tab[3 * y + 2];
        for (int xx = 0; xx < w; xx++) {
          const int x0 = (int) col_tab[3 * xx], x1 = (int) col_tab[3 * xx + 1];
          const float fx = col_tab[3 * xx + 2];
          const float top = r0[x0] + fx * (r0[x1] - r0[x0]);
          const float bot = r1[x0] + fx * (r1[x1] - r1[x0]);
          dst[(size_t) y * w + xx] = top + fy * (bot - top);
        }
      }
    }
  }
#pragma omp parallel for schedule(dynamic, 1) num_threads(cb->threads)
  for (int ch = 0; ch < c; ch++) {
    if (be->sca_map)
      continue;
    double *sum = (double *) thread_scratch (cb);
    const float *s = t + ch * plane;
    for (int xx = 0; xx <= w; xx++)
      sum[xx] = 0;
    for (int y = 0; y < h; y++) {
      double row = 0;
      double *cur = sum + (size_t) (y + 1) * (w + 1), *prev = cur - (w + 1);
      cur[0] = 0;
      for (int xx = 0; xx < w; xx++) {
        row += s[(size_t) y * w + xx];
        cur[xx + 1] = prev[xx + 1] + row;
      }
    }
    float *m = means + ch * vplane;
    for (int y = 0; y < vh; y++) {
      const double *top = sum + (size_t) y * (w + 1), *bot = sum + (size_t) (y + kh) * (w + 1);
      for (int xx = 0; xx < vw; xx++)
        m[(size_t) y * vw + xx] = (float) ((bot[xx + kw] - bot[xx] - top[xx + kw] + top[xx])
            * inv_area);
    }
  }
  if (be->sca_map_out)
#pragma omp parallel for schedule(dynamic, 1) num_threads(cb->threads)
    for (int ch = 0; ch < c; ch++)
      for (int y = 0; y < h; y++) {
        const int vy = y - oy < 0 ? 0 : y - oy >= vh ? vh - 1 : y - oy;
        const float *mrow = means + ch * vplane + (size_t) vy * vw;
        float *orow = be->sca_map_out + ch * plane + (size_t) y * w;
        for (int xx = 0; xx < w; xx++)
          orow[xx] = mrow[xx - ox < 0 ? 0 : xx - ox >= vw ? vw - 1 : xx - ox];
      }
  irc_k_gemm (smap, vplane, bw->sca_w, c, c, c, means, vplane, (int) vplane, 0);
  irc_k_add_bias (smap, vplane, c, (int) vplane, bw->sca_b);
#pragma omp parallel for schedule(dynamic, 1) num_threads(cb->threads)
  for (int ch = 0; ch < c; ch++) {
    float *s = t + ch * plane;
    const float *sm = smap + ch * vplane;
    for (int y = 0; y < h; y++) {
      int vy = y - oy;
      vy = vy < 0 ? 0 : vy >= vh ? vh - 1 : vy;
      const float *srow = sm + (size_t) vy * vw;
      float *trow = s + (size_t) y * w;
      for (int xx = 0; xx < w; xx++) {
        int vx = xx - ox;
        vx = vx < 0 ? 0 : vx >= vw ? vw - 1 : vx;
        trow[xx] *= srow[vx];
      }
    }
  }
}

static void
cpu_nafblock (irc_backend *be, irc_tensor x, const irc_nafblock_w *bw)
{
  cpu_backend *cb = (cpu_backend *) be;
  const int c = x.c, w = x.w, h = x.h;
  const size_t plane = irc_tensor_plane (x);
  const int rows = nafblock_band_rows (c, w) < h ? nafblock_band_rows (c, w) : h;
  const long n_bands = (h + rows - 1) / rows;
  const int chunk = nafblock_chunk (c);
  const long n_chunks = (long) ((plane + chunk - 1) / chunk);
  const int win = be->sca_window;
  /* attention maps read or written make every pixel's pool its own */
  const int local = (win > 0 && (win < h || win < w)) || be->sca_map || be->sca_map_out;
  if (be->measuring) {
    /* a window net may be given attention maps: room for them on every level */
    if (win > 0) {
      /* and the attention maps' sampling tables: 3 floats a row and a column */
      need (&cb->need_local, (size_t) 2 * c * plane + 3 * ((size_t) h + w));
      need (&cb->need_thread, (size_t) 2 * (h + 1) * (w + 1));   /* a double integral image */
    }
    need (&cb->need_thread, max_size ((size_t) 18 * c * w, BAND_BUDGET) + 2 * (size_t) w);
    need (&cb->need_thread, (size_t) 4 * c * chunk);
    need (&cb->need_t, (size_t) c * plane);
    need (&cb->need_sums, (size_t) n_bands * c);
    need (&cb->need_fold, (size_t) c * c + c);
    return;
  }
  const cpu_block *fb = find_block (cb, bw);
  float *t = cb->t;
  double *sums = cb->sums;

  /* pass A: norm1 -> conv1 -> depthwise 3x3 -> SimpleGate into t, with the
   * per-band channel sums the attention's pool needs */
#pragma omp parallel for schedule(dynamic, 1) num_threads(cb->threads)
  for (long i = 0; i < n_bands; i++) {
    const int r0 = (int) i * rows, r1 = r0 + rows < h ? r0 + rows : h;
    const int a0 = r0 > 0 ? r0 - 1 : 0, a1 = r1 < h ? r1 + 1 : h;
    const int nin = (a1 - a0) * w;
    float *ln = thread_scratch (cb), *u = ln + (size_t) c * nin, *tmp = u + (size_t) 2 * c * nin;
    irc_k_layernorm2d (ln, nin, x.data + (size_t) a0 * w, plane, c, nin);
    irc_k_gemm (u, nin, fb->w1, c, 2 * c, c, ln, nin, nin, 0);
    irc_k_add_bias (u, nin, 2 * c, nin, fb->b1);
    irc_k_dwconv3x3_gate (t + (size_t) r0 * w, plane, u, nin, a0 - r0, a1 - a0, c, r1 - r0, w,
        bw->conv2_w, bw->conv2_b, tmp);
    for (int k = 0; k < c; k++) {
      const float *tr = t + k * plane + (size_t) r0 * w;
      double s = 0;
      for (int y = 0; y < r1 - r0; y++) {
        float rs = 0;
        for (int xx = 0; xx < w; xx++)
          rs += tr[(size_t) y * w + xx];
        s += rs;
      }
      sums[i * c + k] = s;
    }
  }

  /* the simplified channel attention: s = sca(mean(t)), folded with beta
   * into conv3 (summing bands in order keeps results thread-count independent) */
  float *w3 = cb->fold, *b3 = w3 + (size_t) c * c;
  if (local) {
    /* TLC: s varies per pixel, so t is scaled in place and conv3 keeps only beta */
    local_attention (cb, t, x, bw);
    for (int o = 0; o < c; o++) {
      for (int k = 0; k < c; k++)
        w3[o * c + k] = bw->beta[o] * bw->conv3_w[o * c + k];
      b3[o] = bw->beta[o] * bw->conv3_b[o];
    }
  } else {
    float *mean = cb->sca_mean, *s = cb->sca_s;
    for (int k = 0; k < c; k++) {
      double acc = 0;
      for (long i = 0; i < n_bands; i++)
        acc += sums[i * c + k];
      mean[k] = be->sca_means ? be->sca_means[k] : (float) (acc / (double) plane);
    }
    if (be->sca_means_out)
      memcpy (be->sca_means_out, mean, (size_t) c * sizeof (float));
    for (int o = 0; o < c; o++) {
      double acc = bw->sca_b[o];
      for (int k = 0; k < c; k++)
        acc += (double) bw->sca_w[o * c + k] * mean[k];
      s[o] = (float) acc;
    }
    for (int o = 0; o < c; o++) {
      for (int k = 0; k < c; k++)
        w3[o * c + k] = bw->beta[o] * bw->conv3_w[o * c + k] * s[k];
      b3[o] = bw->beta[o] * bw->conv3_b[o];
    }
  }

  /* pass B, pointwise per chunk: y = x + conv3'(t); x = y + conv5'(gate(conv4'(norm2(y)))) */
#pragma omp parallel for schedule(dynamic, 1) num_threads(cb->threads)
  for (long i = 0; i < n_chunks; i++) {
    const size_t p0 = (size_t) i * chunk;
    const int n = (int) (plane - p0 < (size_t) chunk ? plane - p0 : (size_t) chunk);
    float *nrm = thread_scratch (cb), *u = nrm + (size_t) c * n, *g = u + (size_t) 2 * c * n;
    float *xp = x.data + p0;
    irc_k_gemm (xp, plane, w3, c, c, c, t + p0, plane, n, 1);
    irc_k_add_bias (xp, plane, c, n, b3);
    irc_k_layernorm2d (nrm, n, xp, plane, c, n);
    irc_k_gemm (u, n, fb->w4, c, 2 * c, c, nrm, n, n, 0);
    irc_k_add_bias (u, n, 2 * c, n, fb->b4);
    for (int k = 0; k < c; k++)
      irc_orc_mul_f32 (g + (size_t) k * n, u + (size_t) k * n, u + (size_t) (k + c) * n, n);
    irc_k_gemm (xp, plane, fb->w5, c, c, c, g, n, n, 1);
    irc_k_add_bias (xp, plane, c, n, fb->b5);
  }
}

static void
cpu_mean (irc_backend *be, float *dst, irc_tensor src)
{
  cpu_backend *cb = (cpu_backend *) be;
  if (be->measuring)
    return;
  const size_t plane = irc_tensor_plane (src);
#pragma omp parallel for num_threads(cb->threads)
  for (int k = 0; k < src.c; k++) {
    double s = 0;
    for (size_t i = 0; i < plane; i++)
      s += src.data[k * plane + i];
    dst[k] = (float) (s / (double) plane);
  }
}

static irc_status
fold_blocks (cpu_backend *cb, const irc_weights *w, irc_error *err)
{
  const irc_config *cfg = &w->cfg;
  size_t n = 0, floats = 0;
  const irc_nafblock_w *lists[7] = {w->left[0], w->left[1], w->left[2], w->bottom,
    w->right[0], w->right[1], w->right[2]};
  const int counts[7] = {cfg->left[0], cfg->left[1], cfg->left[2], cfg->bottom,
    cfg->right[0], cfg->right[1], cfg->right[2]};
  const size_t max_c = irc_weights_widest_block (w);
  for (int l = 0; l < 7; l++)
    for (int i = 0; i < counts[l]; i++) {
      const size_t c = (size_t) lists[l][i].c;
      floats += 2 * c * c + 2 * c + 2 * c * c + 2 * c + c * c + c;
      n++;
    }
  /* and the channel attention's mean and scale, for the widest block */
  floats += 2 * max_c;
  cb->blocks = calloc (n ? n : 1, sizeof *cb->blocks);
  cb->block_arena = malloc ((floats ? floats : 1) * sizeof (float));
  if (!cb->blocks || !cb->block_arena)
    return irc_fail (err, IRC_ERR_NOMEM, "cpu backend: out of memory for folded weights");
  float *p = cb->block_arena;
  for (int l = 0; l < 7; l++)
    for (int i = 0; i < counts[l]; i++) {
      const irc_nafblock_w *bw = &lists[l][i];
      const int c = bw->c;
      cpu_block *fb = &cb->blocks[cb->n_blocks++];
      fb->src = bw;
      fb->w1 = p, p += 2 * c * c;
      fb->b1 = p, p += 2 * c;
      fb->w4 = p, p += 2 * c * c;
      fb->b4 = p, p += 2 * c;
      fb->w5 = p, p += c * c;
      fb->b5 = p, p += c;
      irc_fold_norm (fb->w1, fb->b1, bw->conv1_w, bw->conv1_b, 2 * c, c, bw->norm1_w, bw->norm1_b);
      irc_fold_norm (fb->w4, fb->b4, bw->conv4_w, bw->conv4_b, 2 * c, c, bw->norm2_w, bw->norm2_b);
      for (int o = 0; o < c; o++) {
        for (int k = 0; k < c; k++)
          fb->w5[o * c + k] = bw->gamma[o] * bw->conv5_w[o * c + k];
        fb->b5[o] = bw->gamma[o] * bw->conv5_b[o];
      }
    }
  cb->sca_mean = p;
  cb->sca_s = p + max_c;
  return IRC_OK;
}

static irc_status
cpu_prepare (irc_backend *be, irc_error *err)
{
  cpu_backend *cb = (cpu_backend *) be;
  be->measuring = 0;
  /* whole cache lines per thread, so doubles and vectors stay aligned */
  cb->need_thread = (cb->need_thread + 15) / 16 * 16;
  /* prepare may follow another measuring pass (a larger shape): start over */
  free (cb->scratch);
  free (cb->t);
  free (cb->fold);
  free (cb->sums);
  free (cb->local);
  cb->local = cb->need_local ? malloc (cb->need_local * sizeof (float)) : NULL;
  if (cb->need_local && !cb->local)
    return irc_fail (err, IRC_ERR_NOMEM, "cpu backend: out of memory for the local attention");
  cb->scratch = aligned_alloc (64, ((cb->need_thread * cb->threads * sizeof (float)) / 64 + 1) * 64);
  cb->t = aligned_alloc (64, ((cb->need_t * sizeof (float)) / 64 + 1) * 64);
  cb->fold = malloc ((cb->need_fold + 1) * sizeof (float));
  cb->sums = malloc ((cb->need_sums + 1) * sizeof (double));
  if (!cb->scratch || !cb->t || !cb->fold || !cb->sums)
    return irc_fail (err, IRC_ERR_NOMEM, "cpu backend: out of memory for %zu MB of scratch",
        (cb->need_thread * cb->threads + cb->need_t) * sizeof (float) >> 20);
  return IRC_OK;
}

/* the ops that call OpenBLAS, each run with it serial (blas_serial_enter) */
static void
cpu_conv_serial (irc_backend *be, irc_tensor dst, irc_tensor src, const float *w,
    const float *b, int k, int stride, int leaky, const irc_tensor *residual)
{
  blas_serial_enter ();
  cpu_conv (be, dst, src, w, b, k, stride, leaky, residual);
  blas_serial_leave ();
}

static void
cpu_down_serial (irc_backend *be, irc_tensor dst, irc_tensor src, const float *w)
{
  blas_serial_enter ();
  cpu_down (be, dst, src, w);
  blas_serial_leave ();
}

static void
cpu_up_serial (irc_backend *be, irc_tensor dst, irc_tensor src, irc_tensor skip,
    const float *up_w, const float *down_w)
{
  blas_serial_enter ();
  cpu_up (be, dst, src, skip, up_w, down_w);
  blas_serial_leave ();
}

static void
cpu_nafblock_serial (irc_backend *be, irc_tensor x, const irc_nafblock_w *bw)
{
  blas_serial_enter ();
  cpu_nafblock (be, x, bw);
  blas_serial_leave ();
}

static void
cpu_free (irc_backend *be)
{
  cpu_backend *cb = (cpu_backend *) be;
  free (cb->scratch);
  free (cb->t);
  free (cb->fold);
  free (cb->sums);
  free (cb->local);
  free (cb->blocks);
  free (cb->block_arena);
  free (cb);
}

irc_status
irc_backend_cpu_new (const irc_weights *w, int cap_h, int cap_w, int threads,
    irc_backend **out, irc_error *err)
{
  (void) cap_h, (void) cap_w;
  cpu_backend *cb = calloc (1, sizeof *cb);
  if (!cb)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory");
  cb->threads = threads > 0 ? threads : omp_get_num_procs ();
  cb->base.kind = IRC_BACKEND_CPU;
  cb->base.name = "cpu";
  cb->base.measuring = 1;
  cb->base.prepare = cpu_prepare;
  cb->base.free = cpu_free;
  cb->base.conv = cpu_conv_serial;
  cb->base.down = cpu_down_serial;
  cb->base.up = cpu_up_serial;
  cb->base.nafblock = cpu_nafblock_serial;
  cb->base.mean = cpu_mean;
  irc_status st = fold_blocks (cb, w, err);
  if (st != IRC_OK) {
    cpu_free (&cb->base);
    return st;
  }
  *out = &cb->base;
  return IRC_OK;
}
