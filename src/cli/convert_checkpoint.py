#!/usr/bin/python3
"""convert_checkpoint: turns an official IRConStyle PyTorch checkpoint (.pth)
into the safetensors model file libirc loads, with the network configuration
inferred from the tensor shapes and stored in __metadata__.config.

The file also records tlc_window=global: the paper authors' code pools the
channel attention over the whole image, so a converted checkpoint runs as
they ran it (the element and irc-eval read the window from there)."""
import argparse
import ctypes
import json
import os
import pickle
import re
import struct
import sys
import tempfile

# Training-only state of the authors' model: the MoCo key encoder and queue.
TRAINING_PREFIXES = ("ConStyle.encoder_k.",)
TRAINING_KEYS = ("ConStyle.queue", "ConStyle.queue_ptr")

BLOCK_RE = re.compile(r"^Process_Module_(l1|l2|l3|bottom|r1|r2|r3)\.(\d+)\.")


def fail(msg):
    sys.exit(f"convert_checkpoint: {msg}")


def load_state_dict(path, trust_pickle):
    import torch
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except TypeError:  # torch older than 1.13 has no weights_only
        ckpt = torch.load(path, map_location="cpu")
    except OSError as e:
        fail(f"{path}: {e.strerror or e}")
    except pickle.UnpicklingError as e:
        hint = "" if trust_pickle else " (if you trust the file, retry with --trust-pickle)"
        fail(f"{path}: cannot load: {e}{hint}")
    except Exception as e:  # noqa: BLE001 - torch raises many kinds here
        fail(f"{path}: cannot load: {e}")
    if not isinstance(ckpt, dict):
        fail(f"{path}: not a dict of tensors but a {type(ckpt).__name__}")
    # BasicSR saves {"params_ema": sd} or {"params": sd}; EMA weights are the better ones
    for key in ("params_ema", "params", "state_dict"):
        if isinstance(ckpt.get(key), dict):
            return ckpt[key]
    return ckpt


def infer_config(sd):
    def shape(key, dim):
        if key not in sd:
            fail(f"not an IRConStyle checkpoint: no tensor '{key}'")
        return int(sd[key].shape[dim])

    blocks = {lv: set() for lv in ("l1", "l2", "l3", "bottom", "r1", "r2", "r3")}
    for k in sd:
        m = BLOCK_RE.match(k)
        if m:
            blocks[m.group(1)].add(int(m.group(2)))
    n = {lv: len(s) for lv, s in blocks.items()}
    return {
        "dim": shape("Preprocess_Module.0.weight", 0),
        "left": [n["l1"], n["l2"], n["l3"]],
        "bottom": n["bottom"],
        "right": [n["r1"], n["r2"], n["r3"]],
        "enc_width": shape("ConStyle.encoder_q.stage1.0.0.weight", 0),
        "code": shape("mlp.0.weight", 1),
    }


def prepare(sd, fp16, keep_training):
    """Name -> (dtype name, shape, contiguous CPU tensor), in checkpoint order."""
    import torch
    out = {}
    for name, t in sd.items():
        if not keep_training and (name.startswith(TRAINING_PREFIXES) or name in TRAINING_KEYS):
            continue
        if not isinstance(t, torch.Tensor):
            fail(f"'{name}' is a {type(t).__name__}, not a tensor")
        t = t.detach().cpu()
        if t.is_floating_point():
            if not bool(torch.isfinite(t).all()):
                fail(f"tensor '{name}' holds NaN or Inf values")
            t = t.to(torch.float16 if fp16 else torch.float32)
            if fp16 and not bool(torch.isfinite(t).all()):
                fail(f"tensor '{name}' has values beyond the F16 range (65504); drop --fp16")
            dtype = "F16" if fp16 else "F32"
        elif t.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
            t, dtype = t.to(torch.int64), "I64"  # BatchNorm counters, queue_ptr
        else:
            fail(f"tensor '{name}' has unsupported dtype {t.dtype}")
        out[name] = (dtype, list(t.shape), t.contiguous())
    return out


def tensor_bytes(t):
    # straight from the tensor's memory, so numpy is not needed
    n = t.numel() * t.element_size()
    return ctypes.string_at(t.data_ptr(), n) if n else b""


def write_safetensors(path, tensors, meta):
    header, off = {"__metadata__": meta}, 0
    for name, (dtype, shape, t) in tensors.items():
        n = t.numel() * t.element_size()
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # keeps the data 8-byte aligned

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=os.path.basename(path) + ".tmp.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for _, _, t in tensors.values():
                f.write(tensor_bytes(t))
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp made it 0600
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def main():
    p = argparse.ArgumentParser(
        description="Convert an official IRConStyle PyTorch checkpoint (.pth with "
        "'params_ema' or 'params', or a bare state_dict) into an irconstyle "
        "safetensors model file. Keys are kept as they are; the network "
        "configuration is inferred from the shapes and stored in __metadata__.")
    p.add_argument("input", help="PyTorch checkpoint (.pth)")
    p.add_argument("output", help="safetensors file to write")
    p.add_argument("--fp16", action="store_true",
                   help="store float weights as F16 (integer tensors stay I64)")
    p.add_argument("--keep-training-state", action="store_true",
                   help="keep ConStyle.encoder_k.*, ConStyle.queue and ConStyle.queue_ptr")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow arbitrary pickled objects (runs code from the file)")
    p.add_argument("--tlc-window", default="global", metavar="N|global",
                   help="channel-attention window recorded in the metadata: 'global' "
                   "(the default) pools the whole image as the authors' test code "
                   "does; N pools N-pixel windows (NAFNet's TLC, about 1.5x the "
                   "training patch), which lets tiles agree")
    args = p.parse_args()
    if args.tlc_window != "global" and not (args.tlc_window.isdigit()
                                            and 0 < int(args.tlc_window) <= 16384):
        fail(f"--tlc-window wants 'global' or a window of 1-16384 pixels, not '{args.tlc_window}'")

    if sys.byteorder != "little":
        fail("safetensors is little-endian; this host is not")
    sd = load_state_dict(args.input, args.trust_pickle)
    cfg = infer_config(sd)
    tensors = prepare(sd, args.fp16, args.keep_training_state)
    meta = {"config": json.dumps(cfg), "source": os.path.basename(args.input),
            "tlc_window": args.tlc_window if args.tlc_window == "global"
            else str(int(args.tlc_window))}
    try:
        write_safetensors(args.output, tensors, meta)
    except OSError as e:
        fail(f"{args.output}: {e}")
    dropped = len(sd) - len(tensors)
    print(f"{args.output}: {len(tensors)} tensors ({'F16' if args.fp16 else 'F32'}), "
          f"{dropped} training-state tensors dropped, config {meta['config']}, "
          f"attention window {meta['tlc_window']}")


if __name__ == "__main__":
    main()
