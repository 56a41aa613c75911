/* backend_cpu: placeholder delegating to the reference while the fused kernels land. */
#include "backend.h"
irc_status
irc_backend_cpu_new (const irc_weights *w, int cap_h, int cap_w, int threads,
    irc_backend **out, irc_error *err)
{
  (void) threads;
  irc_status st = irc_backend_ref_new (w, cap_h, cap_w, out, err);
  if (st == IRC_OK)
    (*out)->kind = IRC_BACKEND_CPU;
  return st;
}
