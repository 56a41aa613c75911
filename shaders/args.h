/* args: the fields of the push-constant block every shader reads (`Args` in
 * common.glsl) and the backend fills (irc_vk_args in
 * src/vulkan/vk_pipelines.h): written once, included inside both structs.
 * std430 and C agree on this layout: six 64-bit device addresses first, then
 * twelve 32-bit words, no padding (vk_pipelines.h checks it). The includer
 * defines IRC_ARGS_ADDR (a tensor's device address) and IRC_ARGS_U32. */
IRC_ARGS_ADDR dst, src, src2, wt, bias, res;   /* tensors */
IRC_ARGS_U32 cin, cin_a, cout, flags;          /* channels in (of the first input), out */
IRC_ARGS_U32 hi, wi, ho, wo;                   /* input and output sizes */
IRC_ARGS_U32 stride, n, extra0, extra1;        /* per shader (see each one's header) */
