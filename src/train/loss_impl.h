/* loss_impl: the body of the losses, included by loss.c once per real type.
 * Values are rounded to T where PyTorch holds a float tensor (logits, Gram
 * matrices), so the float losses match the golden step to its tolerance. */

double
FN (irc_tr_l1) (T *grad, const T *out, const T *gt, size_t count)
{
  double s = 0;
  const T g = (T) (1.0 / (double) count);
#pragma omp parallel for reduction(+:s) if (count >= 32768)
  for (size_t i = 0; i < count; i++) {
    const T d = out[i] - gt[i];
    s += d < 0 ? -d : d;
    grad[i] += d > 0 ? g : d < 0 ? -g : 0;
  }
  return s / (double) count;
}

double
FN (irc_tr_infonce) (T *dq, T *logits, const T *q, const T *k, const T *queue, int n, int d,
    int K, double t)
{
  const int m = K + 1;
  const T tt = (T) t;
  double loss = 0;
  for (int i = 0; i < n; i++) {
    T *l = logits + (size_t) i * m;
    double acc = 0;
    for (int c = 0; c < d; c++)
      acc += (double) q[i * d + c] * k[i * d + c];
    l[0] = (T) acc / tt;
    for (int j = 0; j < K; j++) {
      acc = 0;
      for (int c = 0; c < d; c++)
        acc += (double) q[i * d + c] * queue[(size_t) c * K + j];
      l[1 + j] = (T) acc / tt;
    }
    double mx = l[0];
    for (int j = 1; j < m; j++)
      mx = l[j] > mx ? l[j] : mx;
    double se = 0;
    for (int j = 0; j < m; j++)
      se += exp (l[j] - mx);
    loss += mx + log (se) - l[0];
    /* d/dlogit = (softmax - onehot) / n, then through the 1/t scaling */
    for (int j = 0; j < m; j++) {
      const double g = (exp (l[j] - mx) / se - (j == 0)) / n / t;
      if (j == 0)
        for (int c = 0; c < d; c++)
          dq[i * d + c] += (T) (g * k[i * d + c]);
      else
        for (int c = 0; c < d; c++)
          dq[i * d + c] += (T) (g * queue[(size_t) c * K + j - 1]);
    }
  }
  return loss / n;
}

double
FN (irc_tr_content) (T *dq, const T *q, const T *k, int n, int d)
{
  const size_t count = (size_t) n * d;
  double s = 0;
  for (size_t i = 0; i < count; i++) {
    const T e = q[i] - k[i];
    s += (double) e * e;
    dq[i] += (T) (2.0 * e / (double) count);
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
