"""The command line explains itself: help on every argument, a description and runnable
examples for every command; ``list`` works from any folder; set-up steps show progress."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import pytest

from sim import cli

ROOT = Path(__file__).parents[1]


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_argument_and_option_has_help() -> None:
    p = cli.build_parser()
    missing = []
    for name, parser in [("idlib-sim", p), *_subparsers(p).items()]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, f"no help text: {missing}"
    assert all(a.help for a in _subparsers_action(p)._choices_actions)


def _subparsers_action(p: argparse.ArgumentParser) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    return next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))


def test_every_command_has_a_description_and_examples_that_parse() -> None:
    p = cli.build_parser()
    commands = _subparsers(p)
    assert {"run", "compare", "list", "validate", "theatre", "score", "calibrate",
            "bench"} <= set(commands)
    for name, parser in commands.items():
        assert parser.description and len(parser.description) > 40, name
        assert parser.formatter_class is argparse.RawDescriptionHelpFormatter, name
        assert parser.epilog and parser.epilog.startswith("examples:\n"), name
        examples = [ln.strip() for ln in parser.epilog.splitlines()[1:] if ln.strip()]
        assert examples, name
        for line in examples:
            words = shlex.split(line)
            assert words[:2] == ["idlib-sim", name], line
            args = p.parse_args(words[1:])  # a typo in an example would exit here
            assert args.command == name
        help_text = parser.format_help()
        assert "examples:\n  idlib-sim " + name in help_text  # kept as written


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("idlib-sim ") and out.split()[1][0].isdigit()


def test_list_works_from_any_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # no scenarios/ here
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    names = [ln.split()[0] for ln in out.splitlines()]
    assert names == sorted(p.name for p in (ROOT / "scenarios").glob("*.yaml"))
    assert "History as recorded" in out


def test_list_says_where_it_looked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "__file__", str(tmp_path / "site" / "sim" / "cli.py"))
    assert cli.main(["list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(tmp_path / "site" / "scenarios") in err and "idlib-sim list FOLDER" in err
    assert cli.main(["list", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such folder" in capsys.readouterr().err
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "a.yaml").write_text("name: a\ndescription: Is it listed?\n")
    assert cli.main(["list", "mine"]) == 0
    assert capsys.readouterr().out.split() == ["a.yaml", "Is", "it", "listed?"]


def test_a_set_up_step_shows_progress_and_clears_it(capsys: pytest.CaptureFixture[str]) -> None:
    from sim.progress import stage

    with stage("building the theatre", True):
        pass
    assert "building the theatre..." in capsys.readouterr().err
    with stage("building the theatre", False):
        pass
    assert capsys.readouterr().err == ""
