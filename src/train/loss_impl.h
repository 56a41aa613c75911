/* loss_impl: the body of the losses, included by loss.c once per real type
 * (T, FN, FMA, and EXP, LOG, ROW_SUM, VEC_SUM: PyTorch's float functions
 * and summation orders for T = float, see torch_cpu.h). Values are rounded
 * to T where PyTorch holds a float tensor (logits, Gram matrices), so the
 * float losses match the golden step to its tolerance. */

double
FN (irc_tr_l1) (T *grad, const T *out, const T *gt, size_t count)
{
  double s = 0;
  const T g = (T) (1.0 / (double) count);
#pragma omp parallel for reduction(+:s) if (count >= 32768)
  for (size_t i = 0; i < count; i++) {
    const T d = out[i] - gt[i];
    s += d < 0 ? -d : d;
    if (grad)
      grad[i] += d > 0 ? g : d < 0 ? -g : 0;
  }
  return s / (double) count;
}

/* The batch mean of 10 log10(mse_b + 1e-8), mse_b over sample b's
 * channels x hw values, in the trainer's channel-major layout (value j of
 * channel c of sample b at (c n + b) hw + j). NAFNet's PSNRLoss: minus the
 * mean PSNR of the batch, which is what the dev tables average. */
double
FN (irc_tr_psnr_loss) (T *grad, const T *out, const T *gt, int n, int channels, size_t hw)
{
  const double eps = 1e-8, scale = 10.0 / log (10.0);
  const size_t per_sample = (size_t) channels * hw;
  double loss = 0;
  for (int b = 0; b < n; b++) {
    double s = 0;
    for (int c = 0; c < channels; c++) {
      const size_t base = ((size_t) c * n + b) * hw;
#pragma omp parallel for reduction(+:s) if (hw >= 32768)
      for (size_t j = 0; j < hw; j++) {
        const double d = (double) out[base + j] - (double) gt[base + j];
        s += d * d;
      }
    }
    const double mse = s / (double) per_sample + eps;
    loss += scale * log (mse);
    const T g = (T) (scale * 2.0 / ((double) n * (double) per_sample * mse));
    for (int c = 0; c < channels; c++) {
      const size_t base = ((size_t) c * n + b) * hw;
      for (size_t j = 0; j < hw; j++)
        grad[base + j] += g * (out[base + j] - gt[base + j]);
    }
  }
  return loss / n;
}

/* In float this is InfoNCE as PyTorch computes it (torch_cpu.h), because
 * its gradient cancels between the two images of the golden batch inside the
 * encoder's BatchNorm: logits [q.k as ATen sums the products, q @ queue as
 * sgemm chains it] / t; log_softmax with SLEEF's exp and log and ATen's
 * summation; then nll_loss's and log_softmax's backward, over t. dq gets
 * the queue path (sgemm again) and then the key path, in autograd's order. */
IRC_TR_FMA_CLONES double
FN (irc_tr_infonce) (T *dq, T *logits, const T *q, const T *k, const T *queue, int n, int d,
    int K, double t)
{
  const int m = K + 1;
  const T tt = (T) t, g_nll = -((T) 1 / (T) n);
  T *tmp = malloc (sizeof (T) * ((size_t) m + d));
  if (!tmp)
    return NAN;
  T *acc = tmp + m;
  double loss = 0;
  for (int i = 0; i < n; i++) {
    const T *qi = q + (size_t) i * d, *ki = k + (size_t) i * d;
    T *l = logits + (size_t) i * m;
    for (int c = 0; c < d; c++)
      acc[c] = qi[c] * ki[c];
    l[0] = ROW_SUM (acc, d) / tt;
    for (int j = 1; j < m; j++)
      l[j] = 0;
    for (int c = 0; c < d; c++) {
      const T a = qi[c], *row = queue + (size_t) c * K;
      for (int j = 0; j < K; j++)
        l[1 + j] = FMA (a, row[j], l[1 + j]);
    }
    T mx = l[0];
    for (int j = 1; j < m; j++) {
      l[j] /= tt;
      mx = l[j] > mx ? l[j] : mx;
    }
    for (int j = 0; j < m; j++)
      tmp[j] = EXP (l[j] - mx);
    const T lse = LOG (VEC_SUM (tmp, m));
    /* tmp = dloss / dlogit / t from the log-probabilities */
    for (int j = 0; j < m; j++) {
      const T lp = (l[j] - mx) - lse;
      if (j == 0)
        loss -= lp;
      tmp[j] = ((j == 0 ? g_nll : (T) 0) - EXP (lp) * g_nll) / tt;
    }
    /* eight chains at a time, each along a contiguous queue row */
    for (int c0 = 0; c0 < d; c0 += 8) {
      const int cn = d - c0 < 8 ? d - c0 : 8;
      T a8[8] = {0};
      for (int j = 0; j < K; j++) {
        const T g = tmp[1 + j];
        for (int r = 0; r < cn; r++)
          a8[r] = FMA (g, queue[(size_t) (c0 + r) * K + j], a8[r]);
      }
      for (int r = 0; r < cn; r++)
        dq[i * d + c0 + r] += a8[r];
    }
    for (int c = 0; c < d; c++)
      dq[i * d + c] += tmp[0] * ki[c];
  }
  free (tmp);
  return loss / n;
}

double
FN (irc_tr_content) (T *dq, const T *q, const T *k, int n, int d)
{
  const size_t count = (size_t) n * d;
  /* mean's backward (1 / count) times pow's (2 e), each rounded as PyTorch */
  const T inv = (T) 1 / (T) count;
  double s = 0;
  for (size_t i = 0; i < count; i++) {
    const T e = q[i] - k[i];
    s += (double) e * e;
    dq[i] += inv * (2 * e);
  }
  return s / (double) count;
}

double
FN (irc_tr_style_term) (T *dq, const T *q, const T *g, int n, int d, double nn)
{
  /* D = (q q^T - g g^T) / nn is symmetric, so d(-mean D^2)/dq = -4 D q / (n^2 nn) */
  double *dm = malloc (sizeof (double) * n * n);
  if (!dm)
    return NAN;
  double s = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double a = 0, b = 0;
      for (int c = 0; c < d; c++) {
        a += (double) q[i * d + c] * q[j * d + c];
        b += (double) g[i * d + c] * g[j * d + c];
      }
      const T e = (T) ((T) a / (T) nn) - (T) ((T) b / (T) nn);
      dm[i * n + j] = e;
      s += (double) e * e;
    }
  for (int i = 0; i < n; i++)
    for (int c = 0; c < d; c++) {
      double acc = 0;
      for (int j = 0; j < n; j++)
        acc += dm[i * n + j] * q[j * d + c];
      dq[i * d + c] += (T) (-4.0 * acc / ((double) n * n * nn));
    }
  free (dm);
  return -s / ((double) n * n);
}
