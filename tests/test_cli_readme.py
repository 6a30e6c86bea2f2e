"""The README's examples run as written: the five-line counterfactual is the file
``scenarios/no_air.yaml``, and its commands run (with fewer replicas) from a project folder."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from sim import cli

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
SMALL = "24"


def fenced_after(marker: str, lang: str) -> str:
    """The first ``lang`` code block after the line holding ``marker``."""
    at = README.index(marker)
    m = re.compile(rf"^```{lang}\n(.*?)^```", re.M | re.S).search(README, at)
    assert m is not None, f"no {lang} block after {marker!r}"
    return m.group(1)


def test_the_five_line_scenario_is_the_shipped_file() -> None:
    block = fenced_after("A five-line scenario", "yaml")
    assert len(block.splitlines()) == 5
    assert (ROOT / "scenarios" / "no_air.yaml").read_text() == block


def test_the_counterfactual_commands_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Each command of the block, from a folder holding the project's scenarios/ (outputs go to
    its out/), with ``--replicas`` cut to a few (and ``compare`` on one worker, quietly: no
    process pool to start for a few replicas)."""
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    lines = [ln for ln in fenced_after("A five-line scenario", "sh").splitlines() if ln.strip()]
    assert len(lines) == 3
    for line in lines:
        words = shlex.split(line, comments=True)
        assert words[0] == ".venv/bin/idlib-sim", line
        args = words[1:]
        if "--replicas" in args:
            args[args.index("--replicas") + 1] = SMALL
        extra = ["--quiet", "--workers", "1"] if args[0] == "compare" else []
        assert cli.main([*args, *extra]) == 0, line
    out = capsys.readouterr().out
    assert "scenarios/no_air.yaml: ok" in out
    assert f"no_air - baseline, {SMALL} paired replicas" in out
    assert "no_air.yaml" in out and "What if Russia had not flown" in out
    assert (tmp_path / "out" / "compare_baseline_vs_no_air" / "summary.json").is_file()


def test_citation_licence_and_changelog() -> None:
    """CITATION.cff holds what CFF 1.2.0 requires (cff-version, message, title, authors with a
    name) in the schema's formats, and agrees with the package; LICENSE is MIT for the code and
    sends data licences to seeds/README.md; CHANGELOG.md follows Keep a Changelog."""
    import tomllib

    import yaml

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title"):
        assert isinstance(cff[key], str) and cff[key].strip(), key
    assert cff["authors"] and all(
        isinstance(a, dict) and (a.get("name") or a.get("family-names")) for a in cff["authors"])
    assert cff["type"] in ("software", "dataset")
    assert isinstance(cff["date-released"], str)  # the schema wants a string, not a YAML date
    assert re.fullmatch(r"[0-9]{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])",
                        cff["date-released"])
    assert cff["version"] == project["version"]
    assert cff["license"] == "MIT" and project["license"]["text"].startswith("MIT")
    known = {"abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi",
             "identifiers", "keywords", "license", "license-url", "message", "preferred-citation",
             "references", "repository", "repository-artifact", "repository-code", "title",
             "type", "url", "version"}
    assert set(cff) <= known, set(cff) - known  # the schema allows no other keys
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License") and "seeds/README.md" in licence
    log = (ROOT / "CHANGELOG.md").read_text()
    assert "keepachangelog.com" in log and "## [Unreleased]" in log
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", log, re.M)
    assert (project["version"], cff["date-released"]) in versions
    assert set(re.findall(r"^### (\w+)$", log, re.M)) <= {"Added", "Changed", "Deprecated",
                                                          "Removed", "Fixed", "Security"}
