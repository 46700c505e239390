#!/usr/bin/env python3
"""Checks a `-e featurization` file written by a generator with HARL: header, layout version
and feature count against cost_model/FeatureLayout.h, size, and finite values."""
import math
import re
import struct
import sys

path, layout_header = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
src = open(layout_header).read()
version = int(re.search(r"kFeatureLayoutVersion = (\d+)", src).group(1))
names = re.findall(r"X\((\w+)\)", src[src.index("#define HARL_FEATURE_LIST"):])
assert data[:8] == b"HARLFEAT", "bad magic"
ver, stages, nfeat = struct.unpack_from("<III", data, 8)
assert ver == version, f"layout version {ver}, header says {version}"
assert nfeat == len(names), f"{nfeat} features, header lists {len(names)}"
assert stages > 0, "no stages"
assert len(data) == 20 + stages * (8 + 4 * nfeat), "size does not match the header"
for s in range(stages):
    off = 20 + s * (8 + 4 * nfeat)
    node, stage = struct.unpack_from("<ii", data, off)
    vals = struct.unpack_from(f"<{nfeat}f", data, off + 8)
    assert node >= 0 and stage >= 0, "bad stage id"
    assert all(math.isfinite(v) for v in vals), f"non-finite feature in stage {s}"
print(f"{stages} stages x {nfeat} features, layout v{ver}: ok")
