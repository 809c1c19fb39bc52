"""Writes a broken copy of a float32 checkpoint (one model.safetensors) for the CLI's bad-input tests.
Usage: make_bad_model.py SRC DST KIND [ARG]
  nan TENSOR        one NaN in TENSOR          inf TENSOR      -inf in TENSOR
  transpose TENSOR  TENSOR's shape reversed (same bytes)
  config JSON       config.json with JSON merged in (null deletes a field)
  empty-index       an index whose weight_map is empty, beside the weights"""
import json
import shutil
import struct
import sys

src, dst, kind = sys.argv[1], sys.argv[2], sys.argv[3]
arg = sys.argv[4] if len(sys.argv) > 4 else None
shutil.copytree(src, dst)
path = f"{dst}/model.safetensors"
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
data = bytearray(raw[8 + n:])
if kind in ("nan", "inf"):
    t = header[arg]
    assert t["dtype"] == "F32", "make the source with --dtype f32"
    begin, end = t["data_offsets"]
    middle = begin + ((end - begin) // 8) * 4  # the middle float32 element
    data[middle:middle + 4] = struct.pack("<f", float("nan") if kind == "nan" else float("-inf"))
elif kind == "transpose":
    header[arg]["shape"] = header[arg]["shape"][::-1]
elif kind == "config":
    config = json.load(open(f"{dst}/config.json"))
    for key, value in json.loads(arg).items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    json.dump(config, open(f"{dst}/config.json", "w"))
elif kind == "empty-index":
    json.dump({"metadata": {}, "weight_map": {}}, open(f"{dst}/model.safetensors.index.json", "w"))
else:
    sys.exit(f"unknown kind {kind}")
text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
open(path, "wb").write(struct.pack("<Q", len(text)) + text + bytes(data))
