/* kernels: optimised single-threaded CPU kernels working on one band or chunk
 * of an image; the CPU backend splits frames into bands and runs these on its
 * threads. Planar CHW float; "plane" is the distance between channels. */
#ifndef IRC_KERNELS_H
#define IRC_KERNELS_H

#include <stddef.h>

#include "irc-orc.h"

/* im2col of a 3x3, padding 1 convolution for output rows [oy0, oy1):
 * col is (cin * 9) x ((oy1 - oy0) * wo), row (ci*9 + ky*3 + kx). */
void irc_k_im2col3x3 (float *col, const float *src, int cin, int h, int w, int stride,
    int oy0, int oy1, int wo);

/* dst (cout x n, row stride ldd) = weight (cout x k, row stride ldw) * src
 * (k x n, row stride lds) + (accumulate ? dst : 0), through OpenBLAS. */
void irc_k_gemm (float *dst, size_t ldd, const float *weight, size_t ldw, int cout, int k,
    const float *src, size_t lds, int n, int accumulate);

/* Adds bias[o] to each of the cout rows (n values, stride ldd); NULL bias is a no-op. */
void irc_k_add_bias (float *dst, size_t ldd, int cout, int n, const float *bias);

/* LayerNorm2d without its affine part (folded into the next convolution):
 * per pixel over c channels, biased variance, eps 1e-6. src/dst rows have
 * strides lds/ldd; n pixels. */
void irc_k_layernorm2d (float *dst, size_t ldd, const float *src, size_t lds, int c, int n);

/* Depthwise 3x3 (padding 1, bias) on 2c channels followed by SimpleGate:
 * dst[k][y] = dw(u)[k][y] * dw(u)[k + c][y] for output rows y in [0, rows).
 * u holds rows [u_row0, u_row0 + u_rows) of the image's rows, relative to
 * the first output row (u_row0 is -1 or 0); rows outside the image (before
 * row 0 or at/after @h_left rows from the first output row) read as zero.
 * @w is the image width; u rows have stride w, channel stride u_plane; dst
 * channel stride d_plane. @tmp holds 2w floats. */
void irc_k_dwconv3x3_gate (float *dst, size_t d_plane, const float *u, size_t u_plane,
    int u_row0, int u_rows, int c, int rows, int w, const float *weight, const float *bias,
    float *tmp);

/* PixelUnshuffle(2) of rows [0, rows) (even) of a c x rows x w band into dst
 * (4c channels, plane d_plane, starting at output row 0 of the band). */
void irc_k_pixel_unshuffle (float *dst, size_t d_plane, const float *src, size_t s_plane,
    int c, int rows, int w);

/* PixelShuffle(2) of a 4c x rows x w band into c x 2rows x 2w (planes given). */
void irc_k_pixel_shuffle (float *dst, size_t d_plane, const float *src, size_t s_plane,
    int c, int rows, int w);

#endif
