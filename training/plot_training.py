#!/usr/bin/env python3
"""Draws harl-train's per-epoch CSV as a PNG: training loss, and validation ranking metrics
(of the ensemble's first member when it has several; the loss of every member)."""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(csv_path, png_path):
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{csv_path}: no epochs")
    members = sorted({int(r.get("member", 0)) for r in rows})
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for m in members:
        mine = [r for r in rows if int(r.get("member", 0)) == m]
        a.plot([int(r["epoch"]) for r in mine], [float(r["train_loss"]) for r in mine],
               label=f"member {m}" if len(members) > 1 else None)
    if len(members) > 1:
        a.legend(loc="upper right")
    rows = [r for r in rows if int(r.get("member", 0)) == members[0]]
    epoch = [int(r["epoch"]) for r in rows]
    a.set_xlabel("epoch")
    a.set_ylabel("training loss")
    a.set_title("training loss")
    for key, label in [("val_pairwise", "pairwise accuracy"), ("val_pairwise_5pct", "pairwise (>5% apart)"),
                       ("val_kendall_tau", "Kendall tau"), ("val_top1_10pct", "top-1 within 10%")]:
        b.plot(epoch, [float(r[key]) for r in rows], label=label)
    b.set_xlabel("epoch")
    b.set_ylim(0, 1)
    b.set_title("validation (held-out pipelines)")
    b.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
