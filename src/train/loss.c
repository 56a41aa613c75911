/* loss: instantiates the losses (loss_impl.h) in float and double. */
#include "train/loss.h"

#include <math.h>
#include <stdlib.h>

#define T float
#define FN(name) name##_f
#include "train/loss_impl.h"
#undef T
#undef FN

#define T double
#define FN(name) name##_d
#include "train/loss_impl.h"
