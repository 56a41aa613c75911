"""The GPU peer: PyTorch with CUDA running the same network as irc-bench
--backend vulkan, on the same GPU, in the same run (BENCHMARKS.md).

  python3 pipelines/torch_gpu_peer.py --reference ../shared/golden --config lite16 --size 720x1280

The network is ../shared/golden/reference.py's (the maths the C code is
checked against), with random weights as irc-bench uses. Times one whole
frame (encoder with its style pass, U-Net), median of --reps after warm-ups,
each rep ended by torch.cuda.synchronize() so the GPU's work is counted.
Four modes: float32 as written (TF32 off), float32 with cuDNN's autotuner,
float16 autocast with the autotuner (PyTorch's fastest plain mode), each
with the frame already on the GPU; then the autotuned float32 again with the
frame coming from host memory and going back there (.to(device), .cpu()),
as irc-bench's Vulkan time is measured: a GStreamer element gets and gives
frames in system memory.
"""
import argparse
import os
import statistics
import sys
import time

import torch

CONFIGS = {
    "lite16": dict(dim=16, left=[1, 1, 1], bottom=1, right=[1, 1, 1], enc_width=16, code=128),
    "tiny8": dict(dim=8, left=[1, 1, 1], bottom=1, right=[1, 1, 1], enc_width=8, code=64),
}


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def median_ms(fn, reps, device, warmup=3):
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        sync(device)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", required=True, help="folder holding reference.py (../shared/golden)")
    ap.add_argument("--config", default="lite16", choices=sorted(CONFIGS) + ["paper"])
    ap.add_argument("--size", default="720x1280", help="HxW")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                    help="cpu: a dry run of this script where there is no GPU")
    a = ap.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_gpu_peer: PyTorch sees no CUDA device")
    sys.path.insert(0, os.path.abspath(a.reference))
    import reference as R  # noqa: E402

    cfg = R.PAPER if a.config == "paper" else CONFIGS[a.config]
    P, _ = R.build(cfg, 0)
    P.t = {k: v.to(a.device) for k, v in P.t.items()}
    h, w = (int(v) for v in a.size.split("x"))
    img = torch.rand((1, 3, h, w), generator=torch.Generator().manual_seed(1)).to(a.device)
    name = torch.cuda.get_device_name() if a.device == "cuda" else "cpu"

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    with torch.no_grad():
        torch.backends.cudnn.benchmark = False
        t = median_ms(lambda: R.restore(P, cfg, img), a.reps, a.device)
        print(f"torch {a.device} fp32            {h}x{w}: {t:.2f} ms  ({name}, torch {torch.__version__})")
        torch.backends.cudnn.benchmark = True
        t = median_ms(lambda: R.restore(P, cfg, img), a.reps, a.device)
        print(f"torch {a.device} fp32 autotuned  {h}x{w}: {t:.2f} ms")
        with torch.autocast(a.device, dtype=torch.float16 if a.device == "cuda" else torch.bfloat16):
            t = median_ms(lambda: R.restore(P, cfg, img), a.reps, a.device)
        print(f"torch {a.device} fp16 autocast   {h}x{w}: {t:.2f} ms")
        host = img.cpu()
        t = median_ms(lambda: R.restore(P, cfg, host.to(a.device))[0].cpu(), a.reps, a.device)
        print(f"torch {a.device} fp32 autotuned, from and to host memory  {h}x{w}: {t:.2f} ms")


if __name__ == "__main__":
    main()
