"""Use case 3 — features for a collections (or churn) model: every KLI of every customer as a
wide 0/1 matrix, one row per ucic and one ``kli_<code>`` column per KLI in use.

It streams the bulk export (``kli_assignments/export?format=parquet``) to a file, then pivots it
with pyarrow and numpy (no pandas needed).

    python examples/usecase3_feature_matrix.py --partner demo-cu --key sk_... \
        --output features.parquet [--min-customers 10]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _kli_client import check, client, parser


def download_export(http: httpx.Client, partner: str, target: Path) -> Path:
    path = f"/kli/v1/partners/{partner}/kli_assignments/export"
    with http.stream("GET", path, params={"format": "parquet"}) as resp:
        if resp.status_code != 200:
            resp.read()
            raise SystemExit(f"GET {path} → {resp.status_code}: {resp.text}")
        with target.open("wb") as out:
            for chunk in resp.iter_bytes():
                out.write(chunk)
    return target


def feature_matrix(assignments: pa.Table, *, min_customers: int = 1) -> pa.Table:
    """(ucic, kli_code) rows → one row per ucic, a 0/1 int8 column ``kli_<code>`` per KLI."""
    codes = assignments["kli_code"]
    if min_customers > 1:
        counts = pc.value_counts(codes)
        keep = [v["values"].as_py() for v in counts if v["counts"].as_py() >= min_customers]
        assignments = assignments.filter(pc.is_in(codes, pa.array(keep, pa.int64())))
        codes = assignments["kli_code"]
    ucics = (
        pc.unique(assignments["ucic"]).sort() if assignments.num_rows else pa.array([], pa.string())
    )
    columns = pc.unique(codes).sort() if assignments.num_rows else pa.array([], pa.int64())
    rows = pc.index_in(assignments["ucic"], value_set=ucics).to_numpy()
    cols = pc.index_in(codes, value_set=columns).to_numpy()
    matrix = np.zeros((len(ucics), len(columns)), dtype=np.int8)
    matrix[rows, cols] = 1
    data = {"ucic": ucics}
    for j, code in enumerate(columns.to_pylist()):
        data[f"kli_{code}"] = pa.array(matrix[:, j])
    return pa.table(data)


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--output", type=Path, default=Path("kli_features.parquet"))
    p.add_argument("--min-customers", type=int, default=1, help="Drop rarer KLIs.")
    args = p.parse_args(argv)
    check(args, p)
    with tempfile.TemporaryDirectory() as tmp, client(args.base_url, args.key) as http:
        raw = download_export(http, args.partner, Path(tmp) / "export.parquet")
        assignments = pq.read_table(raw, columns=["ucic", "kli_code"])
    features = feature_matrix(assignments, min_customers=args.min_customers)
    pq.write_table(features, args.output)
    print(
        f"{features.num_rows} customers x {features.num_columns - 1} KLI features"
        f" ({assignments.num_rows} assignments) → {args.output}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
