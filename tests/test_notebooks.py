"""The notebooks run end to end (on a small replica budget)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"


@pytest.mark.slow
@pytest.mark.parametrize(("name", "answer"), [("counterfactuals.ipynb", "km²"),
                                             ("calibration.ipynb", "CRPS"),
                                             ("api.ipynb", "RunResult"),
                                             ("analyses.ipynb", "Bayes factor")])
def test_notebook_executes(name: str, answer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDLIB_SIM_NOTEBOOK_REPLICAS", "400")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    shown = [o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs]
    assert any(answer in t for t in shown)  # the answer was printed or shown
    assert not [t for t in shown if "IProgress" in t or "TqdmWarning" in t]  # no widget warning
    assert os.environ.get("IDLIB_SIM_NOTEBOOK_REPLICAS") == "400"
