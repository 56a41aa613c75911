# irc.orc: elementwise kernels of the CPU backend, compiled by orcc at build
# time; Orc picks SSE/AVX/NEON code at run time.

# SimpleGate: the product of the two channel halves
.function irc_orc_mul_f32
.dest 4 d float
.source 4 a float
.source 4 b float
mulf d, a, b

# per-channel bias
.function irc_orc_add_scalar_f32
.dest 4 d float
.floatparam 4 p
addf d, d, p

# residual add
.function irc_orc_add_f32
.dest 4 d float
.source 4 s float
addf d, d, s

# LeakyReLU: max(x, 0) + slope * min(x, 0)
.function irc_orc_leaky_relu_f32
.dest 4 d float
.floatparam 4 slope
.temp 4 pos
.temp 4 neg
.const 4 zero 0
maxf pos, d, zero
minf neg, d, zero
mulf neg, neg, slope
addf d, pos, neg

# 8-bit sample to [0, 1]
.function irc_orc_u8_to_f32
.dest 4 d float
.source 1 s uint8_t
.floatparam 4 scale
.temp 2 w
.temp 4 l
.temp 4 f
convubw w, s
convuwl l, w
convlf f, l
mulf d, f, scale

# [0, 1] to an 8-bit sample, rounded and saturated
.function irc_orc_f32_to_u8
.dest 1 d uint8_t
.source 4 s float
.temp 4 f
.temp 4 l
.temp 2 w
.const 4 c255 0x437f0000
.const 4 half 0x3f000000
mulf f, s, c255
addf f, f, half
convfl l, f
convssslw w, l
convsuswb d, w
