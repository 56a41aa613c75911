/* common: how every shader of the Vulkan backend sees memory and its
 * arguments. Tensors are reached through buffer device addresses carried in
 * one push-constant block (irc_vk_args in src/vulkan/vk_pipelines.h mirrors
 * it), so no descriptor sets exist and one pipeline layout serves all. */
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_buffer_reference_uvec2 : require

layout(buffer_reference, std430, buffer_reference_align = 4) buffer Floats
{
  float v[];
};

layout(push_constant, std430) uniform Args
{
  Floats dst, src, src2, wt, bias, res;
  uint cin, cin_a, cout, flags;
  uint hi, wi, ho, wo;
  uint stride, n, extra0, extra1;
} a;

/* Short vectors at any float offset. One vector load instead of several
 * scalar ones matters most on CPU implementations (lavapipe runs each load
 * as a loop over the SIMD lanes); GPUs just see 4-byte aligned accesses. */
layout(buffer_reference, std430, buffer_reference_align = 4) buffer Vec4At
{
  vec4 v;
};
layout(buffer_reference, std430, buffer_reference_align = 4) buffer Vec3At
{
  vec3 v;
};
layout(buffer_reference, std430, buffer_reference_align = 4) buffer Vec2At
{
  vec2 v;
};

/* The 64-bit address of float @i of @base, without needing shaderInt64. */
uvec2
addr (Floats base, uint i)
{
  const uvec2 b = uvec2 (base);
  uint hi, lo, carry;
  umulExtended (i, 4u, hi, lo);
  lo = uaddCarry (b.x, lo, carry);
  return uvec2 (lo, b.y + hi + carry);
}

vec4
load4 (Floats base, uint i)
{
  return Vec4At (addr (base, i)).v;
}

vec3
load3 (Floats base, uint i)
{
  return Vec3At (addr (base, i)).v;
}

vec2
load2 (Floats base, uint i)
{
  return Vec2At (addr (base, i)).v;
}

void
store4 (Floats base, uint i, vec4 v)
{
  Vec4At (addr (base, i)).v = v;
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
    v += a.bias.v[o];
  if ((a.flags & FLAG_LEAKY) != 0u)
    v = v < 0.0 ? 0.1 * v : v;
  if ((a.flags & FLAG_RESIDUAL) != 0u)
    v += a.res.v[i];
  return v;
}

/* A 1-D tile index spread over x and y of the dispatch (x stops at 65535). */
uint
tile_index ()
{
  return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
}
