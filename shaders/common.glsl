/* common: how every shader of the Vulkan backend sees memory and its
 * arguments. Tensors are reached through buffer device addresses carried in
 * one push-constant block (its fields in args.h, which irc_vk_args in
 * src/vulkan/vk_pipelines.h includes too), so no descriptor sets exist and
 * one pipeline layout serves all.
 *
 * Each shader is compiled twice: as is (tensors stored as float) and with
 * IRC_FP16 (tensors stored as float16_t, the backend's fp16 storage). The
 * arithmetic is fp32 in both: LD() and the loadN() helpers convert on load,
 * ST() and store4() on store, so a shader body reads the same either way. */
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_buffer_reference_uvec2 : require
#ifdef IRC_FP16
#extension GL_EXT_shader_16bit_storage : require
#define ELEM float16_t
#define ELEM2 f16vec2
#define ELEM3 f16vec3
#define ELEM4 f16vec4
#define ELEM_ALIGN 2
#define ELEM_SIZE 2u
#else
#define ELEM float
#define ELEM2 vec2
#define ELEM3 vec3
#define ELEM4 vec4
#define ELEM_ALIGN 4
#define ELEM_SIZE 4u
#endif

layout(buffer_reference, std430, buffer_reference_align = ELEM_ALIGN) buffer Floats
{
  ELEM v[];
};

/* Element @i of @b as float, and @x stored into it. */
#define LD(b, i) float ((b).v[i])
#define ST(b, i, x) (b).v[i] = ELEM (x)

/* fp32 whatever the storage: the partial sums of a reduction (chan_sum ->
 * mean_final, sca_fold), which half precision could not even hold (8192
 * values of 10 overflow it). The backend sizes their scratch accordingly. */
layout(buffer_reference, std430, buffer_reference_align = 4) buffer Floats32
{
  float v[];
};

#define AS_F32(b) Floats32 (uvec2 (b))

#define IRC_ARGS_ADDR Floats
#define IRC_ARGS_U32 uint
layout(push_constant, std430) uniform Args
{
#include "args.h"
} a;

/* Short vectors at any element offset. One vector load instead of several
 * scalar ones matters most on CPU implementations (lavapipe runs each load
 * as a loop over the SIMD lanes); GPUs just see element-aligned accesses. */
layout(buffer_reference, std430, buffer_reference_align = ELEM_ALIGN) buffer Vec4At
{
  ELEM4 v;
};
layout(buffer_reference, std430, buffer_reference_align = ELEM_ALIGN) buffer Vec3At
{
  ELEM3 v;
};
layout(buffer_reference, std430, buffer_reference_align = ELEM_ALIGN) buffer Vec2At
{
  ELEM2 v;
};

/* The 64-bit address of element @i of @base, without needing shaderInt64. */
uvec2
addr (Floats base, uint i)
{
  const uvec2 b = uvec2 (base);
  uint hi, lo, carry;
  umulExtended (i, ELEM_SIZE, hi, lo);
  lo = uaddCarry (b.x, lo, carry);
  return uvec2 (lo, b.y + hi + carry);
}

vec4
load4 (Floats base, uint i)
{
  return vec4 (Vec4At (addr (base, i)).v);
}

vec3
load3 (Floats base, uint i)
{
  return vec3 (Vec3At (addr (base, i)).v);
}

vec2
load2 (Floats base, uint i)
{
  return vec2 (Vec2At (addr (base, i)).v);
}

void
store4 (Floats base, uint i, vec4 v)
{
  Vec4At (addr (base, i)).v = ELEM4 (v);
}

#define FLAG_BIAS 1u
#define FLAG_LEAKY 2u
#define FLAG_RESIDUAL 4u

/* The conv epilogue: bias, LeakyReLU(0.1), then the residual at the same
 * index as the output (it may be the output itself). */
float
epilogue (float v, uint o, uint i)
{
  if ((a.flags & FLAG_BIAS) != 0u)
    v += LD (a.bias, o);
  if ((a.flags & FLAG_LEAKY) != 0u)
    v = v < 0.0 ? 0.1 * v : v;
  if ((a.flags & FLAG_RESIDUAL) != 0u)
    v += LD (a.res, i);
  return v;
}

/* A 1-D tile index spread over x and y of the dispatch (x stops at 65535). */
uint
tile_index ()
{
  return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
}
