#!/usr/bin/env python3
"""Prints or amends the metadata of a safetensors model file.

  python3 pipelines/model-metadata.py MODEL                 # every key
  python3 pipelines/model-metadata.py MODEL --set KEY=VALUE [--set ...]

--set rewrites the JSON header with those keys set (the tensors' bytes are
copied unchanged, the header padded to 8 bytes as the format asks) into a
temporary file beside MODEL, then renames it over MODEL: an interrupted run
leaves the old file whole. irc-train writes every key a shipped model needs;
this is for records it could not know, such as the history of a model
trained in stages before irc-train kept one (MODELS.md says which).
"""
import argparse
import json
import os
import struct
import sys
import tempfile


def read_header(path, tool="model-metadata"):
    """The JSON header of safetensors file @path and where its data starts;
    exits with a message naming @tool and the file when it is not one."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            sys.exit(f"{tool}: {path}: too short for a safetensors file")
        n = struct.unpack("<Q", raw)[0]
        size = os.path.getsize(path)
        if n > size - 8:
            sys.exit(f"{tool}: {path}: header length {n} runs past the end ({size} bytes)")
        try:
            header = json.loads(f.read(n))
        except ValueError as e:
            sys.exit(f"{tool}: {path}: header is not JSON ({e})")
    if not isinstance(header, dict):
        sys.exit(f"{tool}: {path}: header is not a JSON object")
    return header, 8 + n


def write_safetensors(path, header, write_data, tool="model-metadata"):
    """Writes @header (padded to 8 bytes, as the format asks), then whatever
    write_data(file) writes, into a temporary file beside @path, renamed over
    it at the end: an interrupted run leaves the old file whole."""
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * ((8 - len(blob) % 8) % 8)
    folder = os.path.dirname(os.path.abspath(path))
    mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{tool}-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(struct.pack("<Q", len(blob)))
            out.write(blob)
            write_data(out)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args()
    header, data_start = read_header(a.model)
    meta = header.get("__metadata__", {})
    if not a.set:
        for k, v in meta.items():
            print(f"{k}: {v}")
        return
    for kv in a.set:
        key, sep, value = kv.partition("=")
        if not sep or not key:
            sys.exit(f"model-metadata: --set wants KEY=VALUE, not {kv!r}")
        meta[key] = value
    header["__metadata__"] = meta

    def copy_data(out):
        with open(a.model, "rb") as src:
            src.seek(data_start)
            while chunk := src.read(1 << 20):
                out.write(chunk)

    write_safetensors(a.model, header, copy_data)


if __name__ == "__main__":
    main()
