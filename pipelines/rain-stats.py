#!/usr/bin/env python3
"""Streak statistics of rainy/clean image pairs, to hold a rain generator
against a benchmark (MODELS.md, derain): for each pair, the luma added by the
rain (rainy - clean) summarised as the share of pixels it lifts by more than
0.02 / 0.08 / 0.2, its mean and 99th percentile, the share it darkens (a veil
or colour change; 0 for Rain100L), and the median horizontal width and
vertical run length of the pixels lifted by more than 0.08.

    python3 pipelines/rain-stats.py RAINY_DIR CLEAN_DIR

Pairs are matched by file name. Needs python3-numpy and python3-pil (Debian).
"""
import os
import sys

import numpy as np
from PIL import Image


def load(path):
    return np.asarray(Image.open(path).convert("RGB")).astype(np.float32) / 255.0


def luma(rgb):
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def runs(mask):
    """Lengths of the runs of True along each row of @mask."""
    lengths = []
    for row in mask:
        edges = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
        lengths += list(np.where(edges == -1)[0] - np.where(edges == 1)[0])
    return lengths


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rainy_dir, clean_dir = sys.argv[1], sys.argv[2]
    print("name        >0.02   >0.08   >0.20   mean    p99     darker  width  length")
    for name in sorted(os.listdir(rainy_dir)):
        clean_path = os.path.join(clean_dir, name)
        if not os.path.exists(clean_path):
            continue
        added = luma(load(os.path.join(rainy_dir, name))) - luma(load(clean_path))
        streak = added > 0.08
        widths, lengths = runs(streak), runs(streak.T)
        print(f"{name:10s}  {np.mean(added > 0.02):.3f}   {np.mean(streak):.3f}   "
              f"{np.mean(added > 0.2):.3f}   {added.mean():+.3f}  "
              f"{np.percentile(added, 99):.3f}   {np.mean(added < -0.02):.3f}   "
              f"{np.median(widths) if widths else 0:4.1f}   {np.median(lengths) if lengths else 0:5.1f}")


if __name__ == "__main__":
    main()
