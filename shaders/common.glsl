/* common: how every shader of the Vulkan backend sees memory and its
 * arguments. Tensors are reached through buffer device addresses carried in
 * one push-constant block (irc_vk_args in src/vulkan/vk_pipelines.h mirrors
 * it), so no descriptor sets exist and one pipeline layout serves all. */
#extension GL_EXT_buffer_reference : require

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
