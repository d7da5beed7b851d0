"""A self-contained HTML page (images inlined as data URIs) for a clustering report."""

from __future__ import annotations

import base64
import html

from include.reports.clustering import ClusteringMetrics

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2630; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
td, th { border: 1px solid #c8d0d8; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #eef2f5; }
.metrics td:first-child { text-align: left; }
.best { background: #d9f0dd; font-weight: 600; }
"""


def clustering_report_html(
    title: str, metrics: ClusteringMetrics, montage_png: bytes, context: dict[str, str]
) -> str:
    """The report page: headline metrics, run context, montage, cluster sizes and the contingency table."""
    summary_rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td id='metric-{html.escape(name)}'>{value}</td></tr>"
        for name, value in metrics.summary().items()
    )
    context_rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in context.items()
    )
    header = "".join(f"<th>{label}</th>" for label in metrics.label_ids)
    table_rows = []
    for cluster, row in zip(metrics.cluster_ids, metrics.contingency, strict=True):
        best = max(row)
        cells = "".join(f"<td class='{'best' if v == best else ''}'>{v}</td>" for v in row)
        distance = metrics.mean_distance_by_cluster.get(cluster)
        distance_cell = "" if distance is None else f"{distance:.3f}"
        table_rows.append(
            f"<tr><th>{cluster}</th><td>{metrics.cluster_sizes[cluster]}</td><td>{distance_cell}</td>{cells}</tr>"
        )
    image = base64.b64encode(montage_png).decode()
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<table class="metrics"><tbody>{summary_rows}{context_rows}</tbody></table>
<h2>Sample digits per cluster</h2>
<img id="montage" alt="Sample digits of each cluster" src="data:image/png;base64,{image}">
<h2>Cluster × true label</h2>
<table><thead><tr><th>cluster</th><th>size</th><th>mean distance</th>{header}</tr></thead>
<tbody>{"".join(table_rows)}</tbody></table>
</body></html>
"""
