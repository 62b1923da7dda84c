"""Build (or load) the digits model zoo and print its quality gates and timings.

    python -m validation.digits_zoo [--tiny] [--root DIR] [--seed N] [--threads N]
                                    [--samples N] [--no-quality]

Writes ``quality.json`` next to the zoo's manifest. Exit status 0 when every gate passes
(or ``--tiny``/``--no-quality``), 1 otherwise. See docs/model_zoo.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status.
    """
    from validation.digits_zoo.quality import zoo_quality
    from validation.digits_zoo.zoo import build_zoo, default_root

    p = argparse.ArgumentParser(prog="python -m validation.digits_zoo",
                                description="Build or load the digits model zoo and print its quality gates.")
    p.add_argument("--tiny", action="store_true", help="train the tiny preset (seconds; gates not expected to pass)")
    p.add_argument("--root", default=None,
                   help=f"zoo directory (default: $STATGEO_ZOO or {default_root()}; tiny: <root>-tiny)")
    p.add_argument("--seed", type=int, default=0, help="training seed (default: 0)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    p.add_argument("--samples", type=int, default=1000, help="samples per generator for the gates (default: 1000)")
    p.add_argument("--steps", type=int, default=50, help="DDIM steps for the gates (default: 50)")
    p.add_argument("--no-quality", action="store_true", help="build or load only; skip the gates")
    args = p.parse_args(argv)
    root = args.root
    if root is None and args.tiny:
        root = str(default_root()) + "-tiny"
    try:
        zoo = build_zoo(root, preset="tiny" if args.tiny else "full", seed=args.seed, threads=args.threads)
    except (TypeError, ValueError) as exc:
        p.error(str(exc))
    print(f"zoo at {zoo.root} (preset {zoo.config.preset}, seed {zoo.seed}, {args.threads} threads)")
    for name, sec in zoo.timings.items():
        what = "trained" if name in zoo.trained else ("loaded" if name != "total" else "")
        print(f"  {name:12s} {sec:8.1f} s {what}")
    if zoo.train_seconds:
        print("  training time when built: " + ", ".join(f"{k} {v:.0f} s" for k, v in zoo.train_seconds.items())
              + f", total {sum(zoo.train_seconds.values()):.0f} s")
    if args.no_quality:
        return 0
    q = zoo_quality(zoo, n_samples=args.samples, num_inference_steps=args.steps)
    q["threads"] = args.threads
    with open(zoo.root / "quality.json", "w") as fh:
        json.dump(q, fh, indent=2)
    print(f"classifier held-out accuracy {q['classifier_accuracy']:.4f}")
    for name in ("pixel", "latent", "conditional"):
        r = q[name]
        extra = f", requested class {r['requested_class_fraction']:.3f}" if name == "conditional" else ""
        print(f"{name:12s} confident {r['confident_fraction']:.3f}, class fraction "
              f"[{r['class_fraction_min']:.3f}, {r['class_fraction_max']:.3f}]{extra} "
              f"({q['seconds'][name]:.0f} s sampling)")
    for gate, ok in q["gates"].items():
        print(f"  gate {gate:40s} {'pass' if ok else 'FAIL'}")
    return 0 if args.tiny or all(q["gates"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
