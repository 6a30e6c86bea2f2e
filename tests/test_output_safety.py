"""Output folders: only an earlier output of idlib-sim is ever replaced, and nothing else is lost.

The command-line tests patch the simulation to fail loudly, so a refusal is shown to come before
any work. The swap-recovery tests kill a child process between the two renames of the swap.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim import cli

ROOT = Path(__file__).parents[1]
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder`` with its bytes (``None`` for folders)."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def user_folder(path: Path) -> Path:
    (path / "sub").mkdir(parents=True)
    (path / "thesis.txt").write_text("four years of work\n")
    (path / "sub" / "data.csv").write_text("a,b\n1,2\n")
    return path


def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every simulation entry point of the command line fail if it is reached."""
    def boom(*args: object, **kw: object) -> None:
        raise AssertionError("the simulation started before the output folder was checked")

    import sys

    import sim.theatre

    # the modules: the package's names sim.run and sim.compare are the API's functions
    monkeypatch.setattr(sys.modules["sim.run"], "run_scenario", boom)
    monkeypatch.setattr(sys.modules["sim.compare"], "compare", boom)
    monkeypatch.setattr(sim.theatre, "load_theatre", boom)


def commands(out: str) -> dict[str, list[str]]:
    return {"run": ["run", BASELINE, "--replicas", "20", "--out", out, "--quiet"],
            "compare": ["compare", BASELINE, BASELINE, "--replicas", "20", "--out", out,
                        "--quiet"],
            "theatre": ["theatre", "--out", out]}


def test_a_run_into_a_users_folder_is_refused_and_the_folder_kept(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # no patching: on the old code this run went ahead and deleted the folder
    mine = user_folder(tmp_path / "mine")
    before = snapshot(mine)
    assert cli.main(["run", BASELINE, "--replicas", "20", "--out", str(mine), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("idlib-sim: error: refusing to replace") and err.count("\n") == 1
    assert str(mine) in err and "did not write" in err
    assert snapshot(mine) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # nothing written beside it


@pytest.mark.parametrize("command", ["run", "compare", "theatre"])
def test_every_command_refuses_a_foreign_folder_before_any_work(
        command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    no_work(monkeypatch)
    mine = user_folder(tmp_path / "mine")
    before = snapshot(mine)
    assert cli.main(commands(str(mine))[command]) == 2
    err = capsys.readouterr().err
    assert "refusing to replace" in err and str(mine) in err and "Traceback" not in err
    assert snapshot(mine) == before


@pytest.mark.parametrize("case", ["our manifest + a foreign file", "manifest without marker",
                                  "a file", "a link to a folder", "a foreign subfolder"])
def test_anything_but_an_earlier_output_is_refused(case: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    no_work(monkeypatch)
    out = tmp_path / "out"
    files = ["towns.csv"]
    if case == "a file":
        out.write_text("not a folder\n")
    elif case == "a link to a folder":
        user_folder(tmp_path / "elsewhere")
        out.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    else:
        out.mkdir()
        (out / "towns.csv").write_text("town\n")
        man = {"producer": "idlib-sim", "kind": "run", "files": files}
        if case == "manifest without marker":  # e.g. written by an older version
            del man["producer"]
        elif case == "our manifest + a foreign file":
            (out / "notes.txt").write_text("mine\n")
        else:
            (out / "sub").mkdir()
            (out / "sub" / "data.csv").write_text("a\n")
        (out / "manifest.json").write_text(json.dumps(man))
    before = snapshot(tmp_path)
    assert cli.main(commands(str(out))["run"]) == 2
    err = capsys.readouterr().err
    assert "refusing to replace" in err and str(out) in err
    assert snapshot(tmp_path) == before


def test_atomic_dir_itself_refuses_a_foreign_folder(tmp_path: Path) -> None:
    from sim.outputs import OutputError, atomic_dir

    mine = user_folder(tmp_path / "mine")
    before = snapshot(tmp_path)
    with pytest.raises(OutputError, match="did not write"), atomic_dir(mine, kind="run"):
        raise AssertionError("the block must not run")
    assert snapshot(tmp_path) == before


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    work = tmp_path / "parent" / "work"
    work.mkdir(parents=True)
    (work / "keep.txt").write_text("x")
    monkeypatch.chdir(work)
    yield work


@pytest.mark.parametrize("value", [".", "..", "./", "sub/..", "../work/."])
def test_out_without_a_final_name_or_holding_the_working_folder_is_refused_before_work(
        value: str, in_tmp: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    no_work(monkeypatch)
    before = snapshot(in_tmp.parent)
    assert cli.main(commands(value)["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("idlib-sim: error:") and err.count("\n") == 1
    assert ("no final name" in err) or ("working folder" in err)
    assert snapshot(in_tmp.parent) == before  # no hidden orphan folders


def test_the_home_folder_and_the_root_are_refused(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    no_work(monkeypatch)
    home = user_folder(tmp_path / "home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    assert cli.main(commands("~")["run"]) == 2  # '~' quoted, so the shell left it alone
    assert "home folder" in capsys.readouterr().err
    assert cli.main(commands("/")["run"]) == 2
    assert "no final name" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", ["../../x", "/abs/path", "a/b", "..", ".", ""])
def test_default_folders_never_leave_out(name: str) -> None:
    from sim.outputs import OutputError, default_dir

    with pytest.raises(OutputError, match="cannot name a folder under out/"):
        default_dir(name)
    assert default_dir("no_russian_air") == Path("out") / "no_russian_air"


@pytest.mark.parametrize("command", ["run", "compare"])
def test_a_scenario_name_that_escapes_out_is_refused(command: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # from work/, out/../../x is the user's folder x beside work/
    work = tmp_path / "work"
    work.mkdir()
    user_folder(tmp_path / "x")
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"name: ../../x\ndescription: escapes out/\nextends: {BASELINE}\n")
    monkeypatch.chdir(work)
    before = snapshot(tmp_path)
    argv = {"run": ["run", str(bad), "--replicas", "20", "--quiet"],
            "compare": ["compare", BASELINE, str(bad), "--replicas", "20", "--quiet"]}[command]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "../../x" in err and "Traceback" not in err
    assert snapshot(tmp_path) == before  # the user's x included


def test_an_earlier_output_is_replaced_and_marked_as_ours(tmp_path: Path) -> None:
    out = tmp_path / "run"
    for seed in ("1", "2"):
        assert cli.main(["run", BASELINE, "--replicas", "20", "--seed", seed, "--out", str(out),
                         "--quiet"]) == 0
    man = json.loads((out / "manifest.json").read_text())
    assert man["seed"] == 2 and man["producer"] == "idlib-sim" and man["kind"] == "run"
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*")} - {"manifest.json"}
    assert sorted(on_disk) == man["files"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no .run.tmp-* / .run.old-*


def test_the_theatre_output_has_a_manifest_and_can_be_rewritten(tmp_path: Path) -> None:
    out = tmp_path / "theatre"
    for _ in range(2):
        assert cli.main(["theatre", "--json", "--out", str(out)]) == 0
    man = json.loads((out / "manifest.json").read_text())
    assert man["kind"] == "theatre" and man["files"] == ["theatre.json", "theatre.png"]


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_output_folders_follow_the_umask(mask: int, tmp_path: Path) -> None:
    old = os.umask(mask)
    try:
        out = tmp_path / "run"
        assert cli.main(["run", BASELINE, "--replicas", "20", "--out", str(out), "--quiet"]) == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o777 & ~mask
    for f in out.iterdir():
        assert f.stat().st_mode & 0o777 == 0o666 & ~mask, f.name


# --- swap recovery: a child writes an output and is killed at a chosen point ----------------

CHILD = textwrap.dedent("""
    import os, shutil, signal, sys
    from pathlib import Path
    import sim.outputs as O

    target, point = Path(sys.argv[1]), sys.argv[2]
    with O.atomic_dir(target, kind="theatre") as tmp:
        for name in "uvwxyz":
            (tmp / f"{name}.txt").write_text("old")
    real_replace = os.replace

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def replace(src, dst):  # the swap's second rename: the temporary folder into place
        if point == "between" and Path(src).name.startswith(f".{target.name}.tmp-") \\
                and Path(src).is_dir():
            die()
        return real_replace(src, dst)

    real_unlink, deleted = os.unlink, []

    def unlink(path, *a, **kw):  # deleting the old output after the swap: die half-way
        if point == "after" and ".old-" in Path(path).parent.name:
            deleted.append(path)
            if len(deleted) == 2:
                die()
        return real_unlink(path, *a, **kw)

    O.os.replace, O.os.unlink = replace, unlink
    with O.atomic_dir(target, kind="theatre") as tmp:
        for name in "uvwxyz":
            (tmp / f"{name}.txt").write_text("new")
        if point == "writing":
            die()
""")


def killed_child(target: Path, point: str) -> None:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(target), point], cwd=ROOT,
                          timeout=120, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("point", ["between", "between, temporary folder lost", "after",
                                   "writing"])
def test_a_swap_killed_at_any_point_is_recovered_by_the_next_write(point: str,
                                                                   tmp_path: Path) -> None:
    from sim.outputs import check_target, refusal

    target = tmp_path / "t"
    killed_child(target, point.split(",")[0])
    left = names(tmp_path)
    if point.startswith("between"):
        # the kill left no output at all: only the old one aside and the sealed new one
        assert "t" not in left and len(left) == 2
        assert any(n.startswith(".t.old-") for n in left)
        assert any(n.startswith(".t.tmp-") for n in left)
        if point.endswith("lost"):
            for n in left:
                if n.startswith(".t.tmp-"):
                    shutil.rmtree(tmp_path / n)
    elif point == "after":
        assert "t" in left and len(left) == 2
        half_deleted = tmp_path / next(n for n in left if n.startswith(".t.old-"))
        assert 0 < len(list(half_deleted.iterdir())) < 7
        assert (half_deleted / "manifest.json").is_file()
    else:
        assert "t" in left and any(n.startswith(".t.tmp-") for n in left)
    check_target(target)  # what the next run does first
    assert names(tmp_path) == ["t"]
    assert refusal(target) is None  # a complete output of ours
    expected = "old" if point in ("writing", "between, temporary folder lost") else "new"
    assert {p.read_text() for p in target.glob("*.txt")} == {expected}


def test_a_moved_aside_folder_that_is_not_ours_is_restored_never_deleted(tmp_path: Path) -> None:
    # versions before these rules moved any folder to .NAME.old-PID before deleting it
    from sim.outputs import OutputError, check_target

    user_folder(tmp_path / ".t.old-999999999")
    before = snapshot(tmp_path / ".t.old-999999999")
    with pytest.raises(OutputError, match="did not write"):
        check_target(tmp_path / "t")  # restored as t, which is then refused as not ours
    assert names(tmp_path) == ["t"] and snapshot(tmp_path / "t") == before
    user_folder(tmp_path / ".t.old-999999998")
    with pytest.raises(OutputError, match="did not write"):
        check_target(tmp_path / "t")  # beside an existing t: left alone
    assert names(tmp_path) == [".t.old-999999998", "t"]


def test_leftovers_of_live_processes_and_foreign_names_are_left_alone(tmp_path: Path) -> None:
    from sim.outputs import check_target

    keep = [f".t.tmp-{os.getpid()}-0123abcd",  # a live process: this one
            ".t.tmp-notapid", ".t.old-x1", ".u.tmp-999999999-0123abcd", ".t.tmp-99999999-XYZ"]
    for n in keep:
        (tmp_path / n).mkdir()
        (tmp_path / n / "f").write_text("x")
    (tmp_path / ".t.old-999999998").write_text("a file, not our folder")
    (tmp_path / ".t.tmp-999999999-0123abcd").mkdir()  # a dead process (pid beyond pid_max)
    check_target(tmp_path / "t")
    assert names(tmp_path) == sorted([*keep, ".t.old-999999998"])
