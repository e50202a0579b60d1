"""Start-up cost of the packaged merchant directory: `load_directory()` in a fresh interpreter.

    .venv/bin/python benchmarks/directory_load.py [--runs 15]

Each run is a new process (the loader is cached per process), timing the import of
``sightline.enrich.directory`` and the first ``load_directory()`` call separately. Prints medians
and the size of the committed data files.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from importlib.resources import files

PROBE = """
import json, time
t0 = time.perf_counter()
from sightline.enrich.directory import load_directory
t1 = time.perf_counter()
d = load_directory()
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "merchants": len(d.merchants),
                  "institutions": len(d.institutions), "mcc": len(d.mcc),
                  "categories": len(d.categories)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    samples = []
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE], check=True, capture_output=True, text=True
        ).stdout
        samples.append(json.loads(out))
    imports = [s["import"] for s in samples]
    loads = [s["load"] for s in samples]
    last = samples[-1]
    print(
        f"directory: {last['merchants']} merchants, {last['institutions']} institutions, "
        f"{last['categories']} categories, {last['mcc']} MCCs"
    )
    print(f"import sightline.enrich.directory: median {statistics.median(imports) * 1000:.1f} ms")
    print(
        f"load_directory() cold: median {statistics.median(loads) * 1000:.1f} ms, "
        f"max {max(loads) * 1000:.1f} ms over {args.runs} fresh processes"
    )
    data = files("sightline.data")
    total = 0
    for name in ("merchants.json", "institutions.json", "mcc.json", "plaid_pfc_v2.tsv"):
        size = len(data.joinpath(name).read_bytes())
        total += size
        print(f"  {name}: {size / 1024:.0f} KiB")
    print(f"  total: {total / 1024 / 1024:.2f} MiB")


if __name__ == "__main__":
    main()
