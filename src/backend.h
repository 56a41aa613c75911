/* backend: the small table of mid-level ops the network graph (net.c) is
 * written in. Each backend implements them its own way (reference ops, fused
 * CPU kernels, Vulkan shaders); the graph exists once. */
#ifndef IRC_BACKEND_H
#define IRC_BACKEND_H

#include "weights.h"

/* A view of c x h x w floats, planar. */
typedef struct {
  float *data;
  int c, h, w;
} irc_tensor;

static inline size_t
irc_tensor_plane (irc_tensor t)
{
  return (size_t) t.h * t.w;
}

/* Channels [c0, c0 + n) of @t: contiguous in CHW. */
static inline irc_tensor
irc_tensor_slice (irc_tensor t, int c0, int n)
{
  irc_tensor s = {t.data + (size_t) c0 * t.h * t.w, n, t.h, t.w};
  return s;
}

typedef struct irc_backend irc_backend;

struct irc_backend {
  irc_backend_kind kind;
  const char *name;
  /* While set, ops only record the scratch their shapes need and compute
   * nothing: the net walks its graph once this way at creation, then calls
   * prepare() so that every buffer exists before the first frame. */
  int measuring;
  /* Window of the NAFBlocks' channel-attention pool at the level of the next
   * nafblock() call, set by the net before each call: 0 pools globally (the
   * paper), k > 0 pools each pixel's k x k neighbourhood as NAFNet's TLC
   * does (windows clamped inside the image; global when k covers it). */
  int sca_window;
  /* The scene's attention (irc_net_set_attention), for the next nafblock()
   * call, set by the net: when @sca_means is set the block takes these c
   * per-channel means as its pool instead of pooling its own input; when
   * @sca_means_out is set it writes the means it pooled there. Both lie in
   * the activation arena (uploaded / downloaded by the net), both only
   * with a global pool (sca_window 0). */
  const float *sca_means;
  float *sca_means_out;
  /* The frame's attention maps (irc_net_set_attention_maps), for the next
   * nafblock() call of a window net, set by the net: when @sca_map is set
   * the block takes each pixel's pool from it (c x sca_map_h x sca_map_w,
   * read by irc_ref_sample_map at sca_map_y0, sca_map_x0, sca_map_scale)
   * instead of pooling its windows, even where its window covers the
   * tile; when @sca_map_out is set it writes its per-pixel pool there (c x
   * h x w, constant where it pools globally). Host memory: CPU backends. */
  const float *sca_map;
  int sca_map_h, sca_map_w;
  float sca_map_y0, sca_map_x0, sca_map_scale;
  float *sca_map_out;
  irc_status (*prepare) (irc_backend *be, irc_error *err);
  void (*free) (irc_backend *be);
  /* Dense convolution (k 1 or 3, stride 1 or 2, padding k/2), dst->c outputs;
   * bias may be NULL; LeakyReLU(0.1) after when @leaky; @residual (dst's shape)
   * is added last when not NULL. */
  void (*conv) (irc_backend *be, irc_tensor dst, irc_tensor src, const float *w,
      const float *b, int k, int stride, int leaky, const irc_tensor *residual);
  /* DC: 3x3 conv src.c -> src.c/4 (no bias) then PixelUnshuffle(2) into dst
   * (src.c channels at half resolution). */
  void (*down) (irc_backend *be, irc_tensor dst, irc_tensor src, const float *w);
  /* UC: 3x3 conv src.c -> 4 src.c (no bias), PixelShuffle(2), concatenated
   * with @skip, then 1x1 (no bias) to dst.c channels at double resolution. */
  void (*up) (irc_backend *be, irc_tensor dst, irc_tensor src, irc_tensor skip,
      const float *up_w, const float *down_w);
  /* One NAFBlock in place on @x. */
  void (*nafblock) (irc_backend *be, irc_tensor x, const irc_nafblock_w *bw);
  /* Per-channel spatial mean of @src into dst[src.c] (dst is in the
   * activation arena, like every tensor). */
  void (*mean) (irc_backend *be, float *dst, irc_tensor src);
  /* Synchronisation with the host, for backends whose memory is not the
   * host's (NULL for the CPU ones): upload() makes @count floats the host
   * wrote at @host (inside the activation arena) visible to the next ops;
   * download() runs everything recorded so far and makes @count floats at
   * @host current for the host to read. The net calls upload for the padded
   * input and the folded code weights, download for the pooled encoder
   * features, the encoder outputs it hands out and the output image; a frame
   * with a cached code therefore needs a single submission. */
  irc_status (*upload) (irc_backend *be, const float *host, size_t count, irc_error *err);
  irc_status (*download) (irc_backend *be, float *host, size_t count, irc_error *err);
};

/* Creates a backend for frames up to @cap_h x @cap_w (already padded to a
 * multiple of 8) of the network @w. */
irc_status irc_backend_ref_new (const irc_weights *w, int cap_h, int cap_w,
    irc_backend **out, irc_error *err);
irc_status irc_backend_cpu_new (const irc_weights *w, int cap_h, int cap_w, int threads,
    irc_backend **out, irc_error *err);

/* Vulkan compute (src/vulkan/). The backend mirrors the net's activation
 * arena and the model's weight arena on the device, so it translates the host
 * pointers it is given into device addresses: it needs both arenas. */
typedef struct {
  const float *weights;   /* the model's weight arena, uploaded once */
  size_t weights_count;
  const float *acts;      /* the net's activation arena, mirrored on the device */
  size_t acts_count;
  int device;             /* device index, -1 = choose (see IRC_VULKAN_DEVICE) */
  int gpu_only;           /* refuse a CPU device (lavapipe) when choosing */
  int fp16;               /* store tensors as half floats (irc_net_params.vulkan_fp16) */
} irc_vulkan_params;

irc_status irc_backend_vulkan_new (const irc_weights *w, int cap_h, int cap_w,
    const irc_vulkan_params *params, irc_backend **out, irc_error *err);

#define IRC_VULKAN_MAX_PIPES 16

/* What every Vulkan backend of the process did so far, for benchmarks and
 * tests: frame cost is the difference between two reads. */
typedef struct {
  uint64_t dispatches, submits;
  uint64_t validation_errors;   /* with IRC_VULKAN_VALIDATION set */
  char device[256];             /* the device the last backend opened */
  /* With IRC_VULKAN_PROFILE set when a backend is created (and a device with
   * compute timestamps): GPU time and dispatch count per pipeline, named by
   * pipe_name (NULL past the last). Zero otherwise. */
  uint64_t pipe_ns[IRC_VULKAN_MAX_PIPES], pipe_runs[IRC_VULKAN_MAX_PIPES];
  const char *pipe_name[IRC_VULKAN_MAX_PIPES];
} irc_vulkan_counters;

void irc_backend_vulkan_counters (irc_vulkan_counters *out);

#endif
