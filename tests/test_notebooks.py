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
    assert any(answer in o.get("text", "") for o in outputs)  # the answer was printed
    assert os.environ.get("IDLIB_SIM_NOTEBOOK_REPLICAS") == "400"
