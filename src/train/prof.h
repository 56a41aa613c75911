/* prof: optional wall time of the training ops by family, for irc-train-bench's
 * breakdown of a step (irc_trainer_set_timing). Included after ops.h by the
 * graph's sources (graph.c, nafblock.c, encoder.c): each float op call there
 * goes through IRC_TR_TIMED, which reads one thread-local pointer and adds
 * the op's wall time to the family's slot when the pointer is set. With the
 * pointer NULL (always, unless a trainer was given a timing struct) nothing
 * else happens; the ops and their arithmetic are untouched either way. */
#ifndef IRC_TRAIN_PROF_H
#define IRC_TRAIN_PROF_H

#include "train/ops.h"

#include <time.h>

/* Op families (irc_train_timing's columns; train.h repeats the order). */
enum {
  IRC_TR_FAM_CONV3X3,     /* dense 3x3 convolutions: im2col + GEMM, col2im */
  IRC_TR_FAM_GEMM,        /* 1x1 convolutions and the encoder's linear layers */
  IRC_TR_FAM_DEPTHWISE,   /* depthwise 3x3 */
  IRC_TR_FAM_ELEMENTWISE, /* LayerNorm, BatchNorm, gates, activations, pooling, shuffles */
  IRC_TR_FAM_COUNT
};

/* Where the calling thread's op times go: IRC_TR_FAM_COUNT seconds, or NULL
 * (defined in train.c). */
extern _Thread_local double *irc_tr_prof_fam;

static inline double
irc_tr_prof_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define IRC_TR_TIMED(fam, call)                                         \
  do {                                                                  \
    double *const prof_slot_ = irc_tr_prof_fam;                         \
    const double prof_t0_ = prof_slot_ ? irc_tr_prof_now () : 0.0;     \
    call;                                                               \
    if (prof_slot_)                                                     \
      prof_slot_[fam] += irc_tr_prof_now () - prof_t0_;                 \
  } while (0)

/* The float ops by family; a function-like macro does not expand inside its
 * own replacement, so each still calls the function of the same name. */
#define irc_tr_conv3x3_fwd_f(...) IRC_TR_TIMED (IRC_TR_FAM_CONV3X3, irc_tr_conv3x3_fwd_f (__VA_ARGS__))
#define irc_tr_conv3x3_bwd_f(...) IRC_TR_TIMED (IRC_TR_FAM_CONV3X3, irc_tr_conv3x3_bwd_f (__VA_ARGS__))
#define irc_tr_conv1x1_fwd_f(...) IRC_TR_TIMED (IRC_TR_FAM_GEMM, irc_tr_conv1x1_fwd_f (__VA_ARGS__))
#define irc_tr_conv1x1_bwd_f(...) IRC_TR_TIMED (IRC_TR_FAM_GEMM, irc_tr_conv1x1_bwd_f (__VA_ARGS__))
#define irc_tr_linear_fwd_f(...) IRC_TR_TIMED (IRC_TR_FAM_GEMM, irc_tr_linear_fwd_f (__VA_ARGS__))
#define irc_tr_linear_bwd_f(...) IRC_TR_TIMED (IRC_TR_FAM_GEMM, irc_tr_linear_bwd_f (__VA_ARGS__))
#define irc_tr_dwconv3x3_fwd_f(...) IRC_TR_TIMED (IRC_TR_FAM_DEPTHWISE, irc_tr_dwconv3x3_fwd_f (__VA_ARGS__))
#define irc_tr_dwconv3x3_bwd_f(...) IRC_TR_TIMED (IRC_TR_FAM_DEPTHWISE, irc_tr_dwconv3x3_bwd_f (__VA_ARGS__))
#define IRC_TR_ELEM_(f, ...) IRC_TR_TIMED (IRC_TR_FAM_ELEMENTWISE, f (__VA_ARGS__))
#define irc_tr_leaky_fwd_f(...) IRC_TR_ELEM_ (irc_tr_leaky_fwd_f, __VA_ARGS__)
#define irc_tr_leaky_bwd_f(...) IRC_TR_ELEM_ (irc_tr_leaky_bwd_f, __VA_ARGS__)
#define irc_tr_layernorm_fwd_f(...) IRC_TR_ELEM_ (irc_tr_layernorm_fwd_f, __VA_ARGS__)
#define irc_tr_layernorm_bwd_f(...) IRC_TR_ELEM_ (irc_tr_layernorm_bwd_f, __VA_ARGS__)
#define irc_tr_gate_fwd_f(...) IRC_TR_ELEM_ (irc_tr_gate_fwd_f, __VA_ARGS__)
#define irc_tr_gate_bwd_f(...) IRC_TR_ELEM_ (irc_tr_gate_bwd_f, __VA_ARGS__)
#define irc_tr_plane_mean_fwd_f(...) IRC_TR_ELEM_ (irc_tr_plane_mean_fwd_f, __VA_ARGS__)
#define irc_tr_plane_mean_bwd_f(...) IRC_TR_ELEM_ (irc_tr_plane_mean_bwd_f, __VA_ARGS__)
#define irc_tr_plane_scale_fwd_f(...) IRC_TR_ELEM_ (irc_tr_plane_scale_fwd_f, __VA_ARGS__)
#define irc_tr_plane_scale_bwd_f(...) IRC_TR_ELEM_ (irc_tr_plane_scale_bwd_f, __VA_ARGS__)
#define irc_tr_scale_add_fwd_f(...) IRC_TR_ELEM_ (irc_tr_scale_add_fwd_f, __VA_ARGS__)
#define irc_tr_scale_add_bwd_f(...) IRC_TR_ELEM_ (irc_tr_scale_add_bwd_f, __VA_ARGS__)
#define irc_tr_unshuffle_f(...) IRC_TR_ELEM_ (irc_tr_unshuffle_f, __VA_ARGS__)
#define irc_tr_shuffle_f(...) IRC_TR_ELEM_ (irc_tr_shuffle_f, __VA_ARGS__)
#define irc_tr_batchnorm_fwd_f(...) IRC_TR_ELEM_ (irc_tr_batchnorm_fwd_f, __VA_ARGS__)
#define irc_tr_batchnorm_bwd_f(...) IRC_TR_ELEM_ (irc_tr_batchnorm_bwd_f, __VA_ARGS__)
#define irc_tr_gelu_fwd_f(...) IRC_TR_ELEM_ (irc_tr_gelu_fwd_f, __VA_ARGS__)
#define irc_tr_gelu_bwd_f(...) IRC_TR_ELEM_ (irc_tr_gelu_bwd_f, __VA_ARGS__)
#define irc_tr_avgpool_fwd_f(...) IRC_TR_ELEM_ (irc_tr_avgpool_fwd_f, __VA_ARGS__)
#define irc_tr_avgpool_bwd_f(...) IRC_TR_ELEM_ (irc_tr_avgpool_bwd_f, __VA_ARGS__)

#endif
