"""pgvector HNSW on the ANN benchmark's vectors: load, index build, sizes, latency and recall@10 per ef_search.

Called by `eval.bench_ann --postgres URL`, so the figures sit beside FAISS flat and HNSW of the same run.
Latency is one query per round trip from Python over TCP on this machine, as the retriever asks.
"""

from __future__ import annotations

import time

import numpy as np

from index.postgres import connect

TABLE = "bench_ann_vectors"


def bench_pgvector(data: np.ndarray, q: np.ndarray, exact: np.ndarray, *, url: str, m: int, ef_construction: int,
                   efs: tuple[int, ...], kind: str = "vector", k: int = 10, fmt=str) -> list[dict]:
    """Rows like `bench_ann.bench`'s for pgvector HNSW (cosine) at each ef_search."""
    from pgvector import HalfVector
    n, dim = data.shape
    conn = connect(url)
    ops = "halfvec_cosine_ops" if kind == "halfvec" else "vector_cosine_ops"
    conn.execute(f"drop table if exists {TABLE}")
    conn.execute(f"create table {TABLE} (id int primary key, embedding {kind}({dim}))")
    t0 = time.perf_counter()
    with conn.cursor().copy(f"copy {TABLE} (id, embedding) from stdin with (format binary)") as cp:
        cp.set_types(["int4", kind])
        for i, v in enumerate(data):
            cp.write_row((i, HalfVector(v) if kind == "halfvec" else v))
    load = time.perf_counter() - t0
    conn.execute("set maintenance_work_mem = '4GB'")          # the graph is built in memory
    t0 = time.perf_counter()
    conn.execute(f"create index on {TABLE} using hnsw (embedding {ops}) "
                 f"with (m = {m}, ef_construction = {ef_construction})")
    build = time.perf_counter() - t0
    conn.execute(f"vacuum analyze {TABLE}")
    table_mb = float(conn.execute("select pg_table_size(%s)", (TABLE,)).fetchone()[0]) / 2**20
    index_mb = float(conn.execute("select sum(pg_relation_size(indexrelid)) from pg_index "
                                  "where indrelid = %s::regclass and not indisprimary", (TABLE,)).fetchone()[0]) / 2**20
    rows = []
    cast = f"::{kind}({dim})"
    for ef in efs:
        conn.execute(f"set hnsw.ef_search = {int(ef)}")
        for i in range(min(10, len(q))):                       # warm the cache as FAISS's index is warm in memory
            conn.execute(f"select id from {TABLE} order by embedding <=> %s{cast} limit {k}", (q[i],)).fetchall()
        lat, ids = [], np.zeros((len(q), k), dtype=np.int64) - 1
        for i, v in enumerate(q):
            t = time.perf_counter()
            got = [r[0] for r in conn.execute(f"select id from {TABLE} order by embedding <=> %s{cast} limit {k}",
                                              (v,))]
            lat.append((time.perf_counter() - t) * 1000)
            ids[i, :len(got)] = got
        recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ids, exact)]))
        rows.append({"n": n, "index": f"pgvector-{kind}", "build_s": round(load + build, 2),
                     "load_s": round(load, 2), "index_build_s": round(build, 2), "m": m,
                     "ef_construction": ef_construction, "memory_mb": round(index_mb, 1),
                     "table_mb": round(table_mb, 1), "p50_ms": round(float(np.percentile(lat, 50)), 3),
                     "p95_ms": round(float(np.percentile(lat, 95)), 3), "recall@10": round(recall, 4),
                     "ef_search": ef})
        print(fmt(rows[-1]) + f"  (load {load:.1f}s, index {build:.1f}s, table {table_mb:.0f} MB)", flush=True)
    conn.execute(f"drop table {TABLE}")
    conn.close()
    return rows
