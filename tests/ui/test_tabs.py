"""Classes and Export tabs: pure figure builders and the export writer on a stored run."""

import duckdb
import pandas as pd

from latentgap.plots import class_accuracy_bars, confusion_grid
from latentgap.store import Store
from latentgap.ui.classes import classes_view
from latentgap.ui.export import TABLES, export_table
from tests.test_store import _metrics, _run


def _class_rows(run_id):
    rows = []
    for space, acc in (("image", 0.9), ("reconstruction", 0.8), ("latent", 0.3)):
        for c, name in enumerate(["normal", "rare"]):
            rows.append(
                dict(
                    run_id=run_id,
                    arm=space,
                    fold=0,
                    class_index=c,
                    class_name=name,
                    support=10 - 8 * c,
                    accuracy=acc if c else 1.0,
                )
            )
    return rows


def _confusion_rows(run_id):
    return [
        dict(run_id=run_id, arm=s, fold=0, true_class=t, pred_class=p, count=n)
        for s in ("image", "latent")
        for t, p, n in ((0, 0, 9), (0, 1, 1), (1, 0, 2), (1, 1, 0))
    ]


def test_classes_view_of_a_stored_run(tmp_path):
    run = {**_run("r"), "summary": {"class_names": ["normal", "rare"]}}
    Store(tmp_path).write_run(
        run, {"metrics": _metrics("r"), "class_metrics": _class_rows("r"), "confusion": _confusion_rows("r")}
    )
    bars, grid = classes_view(tmp_path, "r")
    latent = next(t for t in bars.data if t.name == "latent")
    assert list(latent.y) == [1.0, 0.3] and list(latent.x) == ["normal<br>n=10", "rare<br>n=2"]
    heat = grid.data[0]
    assert heat.z[0][0] == 0.9 and heat.z[1][0] == 1.0  # row-normalised: 9/10, 2/2
    assert [a.text for a in grid.layout.annotations][:2] == ["image", "latent"]


def test_empty_figures_say_so():
    assert "no per-class results" in class_accuracy_bars(pd.DataFrame()).layout.annotations[0].text
    assert len(confusion_grid(pd.DataFrame(columns=["arm"]), []).data) == 0


def test_export_every_table_as_csv_and_parquet(tmp_path):
    Store(tmp_path).write_run(_run("r"), {"metrics": _metrics("r")})
    for table in TABLES:
        for fmt in ("csv", "parquet"):
            path = export_table(tmp_path, table, fmt)
            assert path.startswith(str(tmp_path / "exports")) and path.endswith(fmt)
    gap = duckdb.sql(f"SELECT * FROM '{export_table(tmp_path, 'gap table (balanced accuracy)', 'parquet')}'").df()
    assert gap.run_id.tolist() == ["r"] and gap.gap.iloc[0] == 0.18
    csv = pd.read_csv(export_table(tmp_path, "all metric records", "csv"))
    assert len(csv) == len(_metrics("r")) and set(csv.quantity) >= {"gap", "score"} and "latent" in set(csv.arm)
