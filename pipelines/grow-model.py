#!/usr/bin/env python3
"""Adds NAFBlocks to a trained model without changing what it computes.

  python3 pipelines/grow-model.py SRC.safetensors DST.safetensors --blocks L1,L2,L3,B,R1,R2,R3

--blocks gives the new NAFBlock counts per U-Net level (irc-train's order:
encoder levels 1-3, bottom, decoder levels 1-3), each at least the source's.
A NAFBlock adds its two branches scaled by beta and gamma, which NAFNet
starts at zero, so a block appended at the end of a level with beta = gamma
= 0 is the identity: the grown model restores exactly as the source, and
`irc-train --init DST` then trains the new capacity from there instead of
from scratch. The new blocks' other weights take PyTorch's default
initialisation (uniform in +-1/sqrt(fan_in); LayerNorm 1 and 0), seeded.

DST gets SRC's metadata with the new configuration and a history that
says where the blocks came from. Needs python3-numpy.
"""
import argparse
import importlib.util
import json
import os
import sys

import numpy as np

# the safetensors header reader and atomic writer of model-metadata.py
_spec = importlib.util.spec_from_file_location(
    "model_metadata", os.path.join(os.path.dirname(os.path.abspath(__file__)), "model-metadata.py"))
model_metadata = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(model_metadata)

LEVELS = ["l1", "l2", "l3", "bottom", "r1", "r2", "r3"]
DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_model(path):
    header, data_start = model_metadata.read_header(path, "grow-model")
    with open(path, "rb") as f:
        f.seek(data_start)
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        if t.get("dtype") not in DTYPES:
            sys.exit(f"grow-model: {path}: tensor {name} has dtype {t.get('dtype')}, "
                     "not F32, F16 or I64")
        a, b = t["data_offsets"]
        tensors[name] = np.frombuffer(data[a:b], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
    return meta, tensors


def write_model(path, meta, tensors):
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        dtype = next(k for k, v in DTYPES.items() if v == a.dtype)
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    model_metadata.write_safetensors(path, header, lambda out: [out.write(b) for b in blobs],
                                     "grow-model")


def new_block(template, rng):
    """An identity NAFBlock shaped as @template (name suffix -> array)."""
    block = {}
    for suffix, a in template.items():
        if suffix in ("beta", "gamma"):
            v = np.zeros(a.shape)
        elif suffix.startswith("norm") and suffix.endswith(".weight"):
            v = np.ones(a.shape)
        elif suffix.startswith("norm"):
            v = np.zeros(a.shape)
        else:
            # PyTorch's Conv2d default: bound 1/sqrt(fan_in) for weight and bias
            conv = suffix.rsplit(".", 1)[0]
            w = template[conv + ".weight"]
            fan_in = int(np.prod(w.shape[1:]))
            bound = 1.0 / np.sqrt(fan_in)
            v = rng.uniform(-bound, bound, a.shape)
        block[suffix] = v.astype(a.dtype)
    return block


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--blocks", required=True, help="L1,L2,L3,B,R1,R2,R3")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    meta, tensors = read_model(args.src)
    try:
        cfg = json.loads(meta["config"])
    except (KeyError, ValueError):
        sys.exit(f"grow-model: {args.src}: no configuration in its metadata")
    old = list(cfg["left"]) + [cfg["bottom"]] + list(cfg["right"])
    try:
        new = [int(x) for x in args.blocks.split(",")]
    except ValueError:
        new = []
    if len(new) != 7 or any(n < o for n, o in zip(new, old)):
        sys.exit(f"grow-model: --blocks wants seven counts, each at least the source's "
                 f"{','.join(map(str, old))}, not '{args.blocks}'")
    rng = np.random.default_rng(args.seed)
    for level, n_old, n_new in zip(LEVELS, old, new):
        prefix = f"Process_Module_{level}."
        template = {k[len(prefix) + 2:]: v for k, v in tensors.items()
                    if k.startswith(prefix + "0.")}
        if not template:
            sys.exit(f"grow-model: {args.src}: no tensors {prefix}0.*")
        for i in range(n_old, n_new):
            for suffix, v in new_block(template, rng).items():
                tensors[f"{prefix}{i}.{suffix}"] = v
    cfg["left"], cfg["bottom"], cfg["right"] = new[0:3], new[3], new[4:7]
    meta = dict(meta)
    meta["config"] = json.dumps(cfg)
    meta["config_name"] = "custom"
    note = (f"grown from blocks {','.join(map(str, old))} to {','.join(map(str, new))} "
            "(the new NAFBlocks start as the identity)")
    meta["history"] = f"{meta['history']}; {note}" if meta.get("history") else note
    write_model(args.dst, meta, tensors)
    print(f"{args.dst}: {note}")


if __name__ == "__main__":
    main()
