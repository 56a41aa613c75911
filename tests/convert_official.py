"""An official-style checkpoint end to end: a BasicSR .pth with the paper
authors' tensor names (tiny configuration, random weights from the golden
reference), converted with src/cli/convert_checkpoint.py and restored by the
element through irc-restore with default settings, against the reference run
the authors' way (reflect-padded to a multiple of 8, attention pooled over
the whole image, clamped and rounded to 8 bits).

Usage: python3 convert_official.py REFERENCE_DIR CONVERTER IRC_RESTORE
(run by test_convert_official.sh, which finds a python3 with torch)."""
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import torch
import torch.nn.functional as F

W, H = 481, 321            # not a multiple of 8: the padding is exercised too
SCA_GAIN = 3.0             # a 192-pixel window is then 8 levels off on this image
CFG = dict(dim=8, left=[1, 1, 1], bottom=1, right=[1, 1, 1], enc_width=8, code=32)


def png_write(path, rgb, w, h):
    raw = b"".join(b"\0" + bytes(rgb[y * w * 3:(y + 1) * w * 3]) for y in range(h))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def png_read(path):
    """8-bit RGB or RGBA, not interlaced: (rgb bytes, w, h)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and not interlace, (depth, ctype, interlace)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride = zlib.decompress(idat), w * bpp
    out, prev = bytearray(), bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += line if bpp == 3 else bytes(v for i, v in enumerate(line) if i % 4 != 3)
        prev = line
    return bytes(out), w, h


def image(gen):
    """A frame whose statistics change across it (a gradient, a bright block,
    texture on one side), so that a windowed pool and a global one differ."""
    y = torch.linspace(0, 1, H).view(H, 1)
    x = torch.linspace(0, 1, W).view(1, W)
    r = 0.15 + 0.7 * x * (1 - 0.5 * y)
    g = 0.2 + 0.6 * y
    b = 0.5 + 0.4 * torch.sin(9 * x) * torch.cos(7 * y)
    img = torch.stack([r.expand(H, W), g.expand(H, W), b])
    img[:, 40:140, 300:460] = 0.95
    img[:, :, :200] += (torch.rand((3, H, 200), generator=gen) - 0.5) * 0.3
    return (img.clamp(0, 1) * 255).round().to(torch.uint8)


def reference_output(ref, P, img):
    """The authors' test path: reflect-pad right and bottom to a multiple of
    8, the network with whole-image pooling, crop, clamp, round."""
    x = img.float().unsqueeze(0) / 255
    ph, pw = (8 - H % 8) % 8, (8 - W % 8) % 8
    x = F.pad(x, (0, pw, 0, ph), "reflect")
    with torch.no_grad():
        out, _, _ = ref.restore(P, CFG, x)
    out = out[:, :, :H, :W].clamp(0, 1)
    return (out[0] * 255).round().to(torch.uint8)


def to_hwc_bytes(t):
    return bytes(t.permute(1, 2, 0).contiguous().flatten().tolist())


def max_diff(a, b):
    """Largest difference in levels; prints how many samples differ at all."""
    assert len(a) == len(b), (len(a), len(b))
    d = [abs(p - q) for p, q in zip(a, b)]
    print(f"  {sum(v > 0 for v in d)} of {len(d)} samples differ")
    return max(d)


def restore(irc_restore, model, src, dst, extra_env=None):
    env = dict(os.environ, **(extra_env or {}))
    subprocess.run([irc_restore, "-q", "--model", model, src, dst], check=True, env=env)
    rgb, w, h = png_read(dst)
    assert (w, h) == (W, H), (w, h)
    return rgb


def gst_restore(model, src, dst, props):
    # Under the sanitize test setup the plugin is instrumented and
    # gst-launch-1.0 is not: it needs the ASan runtime preloaded, as the
    # setup's wrapper does for the programs it starts itself.
    env = dict(os.environ)
    if os.environ.get("IRC_ASAN_RUNTIME"):
        env["LD_PRELOAD"] = os.environ["IRC_ASAN_RUNTIME"]
    subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={src}", "!", "pngdec", "!",
                    "videoconvert", "!", "video/x-raw,format=RGB", "!", "irconstyle", f"model={model}"]
                   + props + ["!", "videoconvert", "!", "video/x-raw,format=RGB", "!", "pngenc", "!",
                              "filesink", f"location={dst}"], check=True, env=env)
    return png_read(dst)[0]


def main():
    refdir, converter, irc_restore = sys.argv[1:4]
    sys.path.insert(0, refdir)
    import reference as ref
    torch.set_num_threads(1)
    P, gen = ref.build(CFG, 7, train=True)   # with the MoCo key encoder, as trained
    with torch.no_grad():   # an attention that matters, as in trained models
        for k, v in P.t.items():
            if k.endswith(("sca.1.weight", ".beta")):
                v.mul_(SCA_GAIN)
    sd = {k: v.detach().clone() for k, v in P.t.items()}
    sd["ConStyle.queue"] = torch.randn((CFG["code"], 16), generator=gen)
    sd["ConStyle.queue_ptr"] = torch.zeros(1, dtype=torch.int64)
    # BasicSR keeps both; the converter must take the EMA weights
    params = {k: (v + 0.05 if v.is_floating_point() else v) for k, v in sd.items()}
    img = image(gen)

    with tempfile.TemporaryDirectory() as tmp:
        pth, model = os.path.join(tmp, "official.pth"), os.path.join(tmp, "official.safetensors")
        torch.save({"params": params, "params_ema": sd}, pth)
        subprocess.run([sys.executable, converter, pth, model], check=True)
        with open(model, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            meta = json.loads(f.read(n))["__metadata__"]
        assert meta.get("tlc_window") == "global", meta
        assert json.loads(meta["config"]) == CFG, meta["config"]
        # a window can be recorded instead; nonsense is refused
        windowed = os.path.join(tmp, "windowed.safetensors")
        subprocess.run([sys.executable, converter, "--tlc-window", "96", pth, windowed],
                       check=True, stdout=subprocess.DEVNULL)
        with open(windowed, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            assert json.loads(f.read(n))["__metadata__"]["tlc_window"] == "96"
        bad = subprocess.run([sys.executable, converter, "--tlc-window", "wide", pth, windowed],
                             capture_output=True, text=True)
        assert bad.returncode != 0 and "--tlc-window" in bad.stderr, bad.stderr

        src = os.path.join(tmp, "in.png")
        png_write(src, to_hwc_bytes(img), W, H)
        want = to_hwc_bytes(reference_output(ref, P, img))
        changed = sum(a != b for a, b in zip(want, to_hwc_bytes(img)))
        assert changed > W * H, "the network left the image as it was: the test would prove nothing"

        got = restore(irc_restore, model, src, os.path.join(tmp, "out.png"))
        d_default = max_diff(got, want)
        print(f"converted checkpoint, element defaults: max {d_default} level(s) from the "
              f"reference ({changed} of {3 * W * H} samples changed by the network)")

        # a file with no tlc_window at all (an export of the authors' weights
        # by other means) runs the same way
        with open(model, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
            rest = f.read()
        del header["__metadata__"]["tlc_window"]
        blob = json.dumps(header, separators=(",", ":")).encode()
        blob += b" " * (-len(blob) % 8)
        bare = os.path.join(tmp, "bare.safetensors")
        with open(bare, "wb") as f:
            f.write(struct.pack("<Q", len(blob)) + blob + rest)
        got = restore(irc_restore, bare, src, os.path.join(tmp, "bare.png"))
        d_bare = max_diff(got, want)
        print(f"same weights, no tlc_window metadata: max {d_bare} level(s)")

        # the element's tlc-window: -1 is the global pool whatever the file
        # says; a 192-pixel window (the old default) is what this test catches
        got = gst_restore(model, src, os.path.join(tmp, "g.png"), ["tlc-window=-1"])
        d_global = max_diff(got, want)
        got = gst_restore(model, src, os.path.join(tmp, "w.png"), ["tlc-window=192"])
        d_window = max_diff(got, want)
        print(f"tlc-window=-1: max {d_global} level(s); tlc-window=192: max {d_window} level(s)")

    ok = d_default <= 1 and d_bare <= 1 and d_global <= 1 and d_window > 1
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
