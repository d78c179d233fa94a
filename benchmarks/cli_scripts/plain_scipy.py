"""The plain script ``bench_cli.py`` compares ``arlequin detect`` with: what one writes without arlequin.

Run: ``python plain_scipy.py REF CUR OUT.json``. Reads both Parquet files with pyarrow;
per numeric column ``scipy.stats.ks_2samp``, per string column ``scipy.stats.chi2_contingency``
on the two samples' category counts (pyarrow ``value_counts``); writes the p-values as JSON.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy import stats


def counts(column: pa.ChunkedArray) -> dict[str, int]:
    found = pc.value_counts(column.drop_null())
    return dict(zip(found.field("values").to_pylist(), found.field("counts").to_pylist(), strict=True))


def main(ref_path: str, cur_path: str, out: str) -> None:
    ref, cur = pq.read_table(ref_path), pq.read_table(cur_path)
    p_values = {}
    for name in ref.column_names:
        a, b = ref.column(name), cur.column(name)
        if pa.types.is_string(a.type) or pa.types.is_large_string(a.type):
            ca, cb = counts(a), counts(b)
            keys = sorted(set(ca) | set(cb))
            table = np.array([[ca.get(k, 0) for k in keys], [cb.get(k, 0) for k in keys]])
            p_values[name] = float(stats.chi2_contingency(table).pvalue)
        else:
            x, y = (c.to_numpy().astype(np.float64) for c in (a, b))
            p_values[name] = float(stats.ks_2samp(x[~np.isnan(x)], y[~np.isnan(y)]).pvalue)
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"p_values": p_values, "drifted": [k for k, p in p_values.items() if p < 0.05]}, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
