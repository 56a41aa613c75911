/* ref: naive reference of every op of the network, one image, planar CHW
 * float. These are the oracle the optimised kernels and the Vulkan shaders
 * are tested against; each names the PyTorch op it matches. */
#ifndef IRC_OPS_REF_H
#define IRC_OPS_REF_H

#include <stddef.h>

/* torch.nn.functional.conv2d(src, weight, bias, stride, padding=k/2, groups):
 * src cin x h x w, weight cout x (cin/groups) x k x k, bias cout or NULL.
 * dst is cout x ho x wo with ho = (h + 2(k/2) - k)/stride + 1. */
void irc_ref_conv2d (float *dst, const float *src, int cin, int h, int w,
    const float *weight, const float *bias, int cout, int k, int stride, int groups);

/* Output size of irc_ref_conv2d along one axis. */
int irc_ref_conv_out (int n, int k, int stride);

/* F.leaky_relu(x, slope), in place on n values. */
void irc_ref_leaky_relu (float *x, size_t n, float slope);

/* LayerNorm2d: per pixel over the c channels, biased variance, eps.
 * dst may alias src. */
void irc_ref_layernorm2d (float *dst, const float *src, int c, size_t hw,
    const float *weight, const float *bias, float eps);

/* SimpleGate: dst (c x hw) = src[0:c] * src[c:2c]. */
void irc_ref_simple_gate (float *dst, const float *src, int c, size_t hw);

/* x.mean(dim=(2,3)): dst[c] = mean over hw of src[c]. */
void irc_ref_channel_mean (float *dst, const float *src, int c, size_t hw);

/* NAFNet TLC's local average pool: for each pixel the mean of the k x k
 * window centred on it, windows clamped inside the image (the valid pooling
 * replicate-padded back to h x w). k >= both sides means the global mean.
 * dst is c x h x w. */
void irc_ref_local_mean (float *dst, const float *src, int c, int h, int w, int k);

/* A map read at another scale and place (the runner's attention maps): dst
 * (c x h x w) at (y, x) is @map (c x map_h x map_w) sampled bilinearly at
 * ((y0 + y + 0.5) * scale - 0.5, (x0 + x + 0.5) * scale - 0.5), pixel
 * centres at half-integers as in F.interpolate(align_corners=False), the
 * place clamped inside the map. dst at a given (y0 + y, x0 + x) does not
 * depend on y0 and x0 apart, so tiles read what the whole frame reads. */
void irc_ref_sample_map (float *dst, const float *map, int c, int h, int w, int map_h,
    int map_w, float y0, float x0, float scale);

/* x * s[:, None, None], in place. */
void irc_ref_scale_channels (float *x, int c, size_t hw, const float *s);

/* F.pixel_unshuffle(src, 2): src c x h x w (h, w even) -> dst 4c x h/2 x w/2,
 * dst[c*4 + 2i + j][y][x] = src[c][2y+i][2x+j]. */
void irc_ref_pixel_unshuffle (float *dst, const float *src, int c, int h, int w);

/* F.pixel_shuffle(src, 2): src 4c x h x w -> dst c x 2h x 2w (inverse of the above). */
void irc_ref_pixel_shuffle (float *dst, const float *src, int c, int h, int w);

/* F.linear: dst[o] = sum_i weight[o][i] src[i] + bias[o] (bias may be NULL). */
void irc_ref_linear (float *dst, const float *src, int in, int out, const float *weight,
    const float *bias);

/* F.batch_norm in eval mode on one vector of n features. */
void irc_ref_batchnorm_eval (float *x, int n, const float *weight, const float *bias,
    const float *mean, const float *var, float eps);

/* Exact (erf) GELU, in place. */
void irc_ref_gelu (float *x, size_t n);

/* dst = a + b * s[c] per channel (NAFBlock's residual scale-add with beta/gamma). */
void irc_ref_scale_add (float *dst, const float *a, const float *b, const float *s, int c,
    size_t hw);

#endif
