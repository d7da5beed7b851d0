"""Self-contained HTML pages (images inlined as data URIs) for clustering and classification reports."""

from __future__ import annotations

import base64
import html

from include.reports.classification import ClassificationMetrics
from include.reports.clustering import ClusteringMetrics

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2630; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
td, th { border: 1px solid #c8d0d8; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #eef2f5; }
.metrics td:first-child { text-align: left; }
.best { background: #d9f0dd; font-weight: 600; }
.confusion td.diagonal { font-weight: 600; }
.axis { color: #5b6875; font-weight: normal; }
"""


def clustering_report_html(
    title: str, metrics: ClusteringMetrics, montage_png: bytes, context: dict[str, str]
) -> str:
    """The report page: headline metrics, run context, montage, cluster sizes and the contingency table."""
    summary_rows, context_rows = _summary_rows(metrics.summary()), _context_rows(context)
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
    image = _png_uri(montage_png)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<table class="metrics"><tbody>{summary_rows}{context_rows}</tbody></table>
<h2>Sample digits per cluster</h2>
<img id="montage" alt="Sample digits of each cluster" src="{image}">
<h2>Cluster × true label</h2>
<table><thead><tr><th>cluster</th><th>size</th><th>mean distance</th>{header}</tr></thead>
<tbody>{"".join(table_rows)}</tbody></table>
</body></html>
"""


def classification_report_html(
    title: str, metrics: ClassificationMetrics, misclassified_png: bytes | None, context: dict[str, str]
) -> str:
    """The report page: accuracy and run context, per-class scores, the confusion matrix (shaded by the
    share of each true class) and a montage of misclassified digits captioned "true → predicted"."""
    per_class_rows = "".join(
        f"<tr><th>{html.escape(row['name'])}</th><td>{row['precision']:.4f}</td><td>{row['recall']:.4f}</td>"
        f"<td>{row['f1']:.4f}</td><td>{row['support']}</td></tr>"
        for row in metrics.per_class()
    )
    names = [html.escape(name) for name in metrics.class_names]
    confusion_rows = []
    for true_index, row in enumerate(metrics.confusion):
        total = sum(row) or 1
        cells = "".join(
            _confusion_cell(count, count / total, diagonal=true_index == predicted_index)
            for predicted_index, count in enumerate(row)
        )
        confusion_rows.append(f"<tr><th>{names[true_index]}</th>{cells}</tr>")
    predicted_header = "".join(f"<th>{name}</th>" for name in names)
    if metrics.misclassified == 0:
        mistakes = "<p id='misclassified'>No digit was misclassified.</p>"
    elif misclassified_png is None:
        count = metrics.misclassified
        mistakes = f"<p id='misclassified'>{count} digits were misclassified (none drawn).</p>"
    else:
        mistakes = (
            "<img id='misclassified' alt='Misclassified digits, captioned true → predicted' "
            f"src='{_png_uri(misclassified_png)}'>"
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<table class="metrics"><tbody>{_summary_rows(metrics.summary())}{_context_rows(context)}</tbody></table>
<h2>Per class</h2>
<table id="per-class"><thead>
<tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>
</thead><tbody>{per_class_rows}</tbody></table>
<h2>Confusion matrix <span class="axis">(rows: true class, columns: predicted class)</span></h2>
<table class="confusion" id="confusion"><thead>
<tr><th>true \\ predicted</th>{predicted_header}</tr>
</thead><tbody>{"".join(confusion_rows)}</tbody></table>
<h2>Misclassified digits <span class="axis">(true → predicted)</span></h2>
{mistakes}
</body></html>
"""


def _summary_rows(summary: dict) -> str:
    return "".join(
        f"<tr><td>{html.escape(name)}</td><td id='metric-{html.escape(name)}'>{value}</td></tr>"
        for name, value in summary.items()
    )


def _context_rows(context: dict[str, str]) -> str:
    return "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in context.items()
    )


def _confusion_cell(count: int, share: float, *, diagonal: bool) -> str:
    # Green where the share of the true class is right, red where it went wrong; darker is more.
    colour = "40, 160, 70" if diagonal else "210, 60, 50"
    style = f" style='background: rgba({colour}, {0.08 + 0.72 * share:.2f})'" if count else ""
    return f"<td class='{'diagonal' if diagonal else ''}'{style}>{count}</td>"


def _png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()
