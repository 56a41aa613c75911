/* plot: irc-train's history of losses and validation PSNR, and its PNG
 * chart (cairo): pixel loss, the contrastive losses, validation PSNR. */
#ifndef IRC_TRAIN_PLOT_H
#define IRC_TRAIN_PLOT_H

#include "irc/irc.h"

#include <stddef.h>
#include <stdint.h>

enum { TRP_TOTAL = 0, TRP_PIX, TRP_CE, TRP_CONTENT, TRP_STYLE, TRP_LOSSES };

typedef struct {
  size_t n, cap;
  int64_t *iter;
  double *loss[TRP_LOSSES];
  size_t n_val, cap_val;
  int64_t *val_iter;
  double *val_psnr;
  double val_input;                /* PSNR of the degraded inputs; NAN: none */
} trp_history;

void trp_init (trp_history *h);
void trp_clear (trp_history *h);
irc_status trp_push (trp_history *h, int64_t iter, const double loss[TRP_LOSSES],
    irc_error *err);
irc_status trp_push_val (trp_history *h, int64_t iter, double psnr, irc_error *err);

/* Draws @h into a PNG at @path (temporary file, then rename). @title goes
 * on top. */
irc_status trp_write_png (const char *path, const trp_history *h, const char *title,
    irc_error *err);

#endif
