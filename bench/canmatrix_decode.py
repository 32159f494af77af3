#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Reference side of bench/decode-bench: decode a candump log with Debian's
python3-canmatrix and print one JSON object per frame, like `bodydiag decode --json`.

Usage: canmatrix_decode.py DBC CAPTURE
Prints to stdout; the last line on stderr is "frames=N decode_s=S" (decode loop only).
"""
import json
import sys
import time

import canmatrix
import canmatrix.formats


def main():
    dbc, capture = sys.argv[1], sys.argv[2]
    db = canmatrix.formats.loadp_flat(dbc)
    cache = {}
    out = sys.stdout
    frames = 0
    start = time.perf_counter()
    with open(capture, encoding="ascii", errors="replace") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3 or "#" not in parts[2]:
                continue
            ident, data = parts[2].split("#", 1)
            if data.startswith("#") or data.startswith("R"):
                continue
            ext = len(ident) == 8
            can_id = int(ident, 16)
            payload = bytes.fromhex(data.replace(".", ""))
            key = (can_id, ext)
            frame = cache.get(key)
            if frame is None and key not in cache:
                frame = db.frame_by_id(canmatrix.ArbitrationId(id=can_id, extended=ext))
                cache[key] = frame
            obj = {"t": float(parts[0].strip("()")), "iface": parts[1], "id": can_id,
                   "ext": ext, "len": len(payload), "msg": None, "signals": {}}
            if frame is not None:
                obj["msg"] = frame.name
                try:
                    decoded = frame.decode(payload)
                    obj["signals"] = {k: float(v.phys_value) for k, v in decoded.items()}
                except Exception as e:  # noqa: BLE001 - the reference keeps going too
                    obj["error"] = str(e)
            out.write(json.dumps(obj))
            out.write("\n")
            frames += 1
    elapsed = time.perf_counter() - start
    print(f"frames={frames} decode_s={elapsed:.6f}", file=sys.stderr)


if __name__ == "__main__":
    main()
