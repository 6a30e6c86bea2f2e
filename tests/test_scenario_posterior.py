"""A scenario's ``posterior:``: resolved against the file that names it, read and checked at load
time with located errors, counted in the digest by its samples, switchable from the command line,
drawn per replica by ``run``, and shared by both sides of a comparison."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from sim import cli
from sim.compare import compare
from sim.errors import ScenarioError
from sim.run import run_scenario
from sim.scenario import load_scenario, with_overrides

BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"
SAMPLES = ("speed_scale,footprint_km,modifiers.spring_shield.counterattack_mult\n"
           "0.30,18,2.0\n0.15,10,1.0\n0.60,30,3.0\n")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``sub/post.csv``, ``sub/p.yaml`` (names it as ``post.csv``) and ``child.yaml`` in the
    parent folder that extends ``sub/p.yaml`` without naming a posterior."""
    write(tmp_path / "sub" / "post.csv", "# test samples\n" + SAMPLES)
    write(tmp_path / "sub" / "p.yaml", f"name: p\ndescription: p?\nextends: {BASELINE}\n"
                                       "posterior: post.csv\n")
    write(tmp_path / "child.yaml", "name: c\ndescription: c?\nextends: sub/p.yaml\n")
    return tmp_path


def error_of(f: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    return str(info.value)


def test_the_path_is_relative_to_the_file_that_names_it(tree: Path) -> None:
    for f in (tree / "sub" / "p.yaml", tree / "child.yaml"):
        sc = load_scenario(f)
        post = sc.posterior_samples()
        assert post is not None and post.n_samples == 3
        assert Path(sc.posterior or "").resolve() == (tree / "sub" / "post.csv").resolve()
        assert post.names == ("speed_scale", "footprint_km",
                              "modifiers.spring_shield.counterattack_mult")


def test_no_posterior_is_none(tmp_path: Path) -> None:
    off = write(tmp_path / "off.yaml", f"name: o\ndescription: o?\nextends: {BASELINE}\n"
                                        "posterior: null\n")
    assert load_scenario(off).posterior_samples() is None
    assert with_overrides(load_scenario(BASELINE),
                          sets={"posterior": None}).posterior_samples() is None


def test_the_baseline_names_the_calibrated_posterior() -> None:
    post = load_scenario(BASELINE).posterior_samples()
    shipped = BASELINE.parents[1] / "calibration" / "record" / "posterior_samples.csv"
    assert post is not None and Path(post.source).resolve() == shipped.resolve()


def test_a_missing_or_bad_file_is_blamed_on_the_entry(tree: Path) -> None:
    f = write(tree / "m.yaml", "name: m\ndescription: m?\nextends: child.yaml\n"
                               "posterior: nowhere.csv\n")
    msg = error_of(f)
    assert re.match(r"\S+m\.yaml:4: field 'posterior': value 'nowhere\.csv': .*cannot read", msg)
    assert msg.count("\n") == 0
    write(tree / "bad.csv", "speed_scale,footprint_km\n0.3,18\n0.3,99\n")
    f = write(tree / "b.yaml", "name: b\ndescription: b?\nextends: child.yaml\n"
                               "replicas: 10\nposterior: bad.csv\n")
    msg = error_of(f)
    assert re.match(r"\S+b\.yaml:5: field 'posterior': value 'bad\.csv': \S+bad\.csv:3: field "
                    r"'footprint_km' value '99': outside", msg), msg


def test_a_column_for_a_modifier_the_scenario_lacks_is_refused(tree: Path) -> None:
    write(tree / "mod.csv", "speed_scale,modifiers.spring_sheild.counterattack_mult\n0.3,2\n")
    f = write(tree / "x.yaml", "name: x\ndescription: x?\nextends: child.yaml\n"
                               "posterior: mod.csv\n")
    msg = error_of(f)
    assert re.match(r"\S+x\.yaml:4: field 'posterior': .*no modifier 'spring_sheild' "
                    r"\(did you mean 'spring_shield'\?\)", msg), msg
    write(tree / "par.csv", "modifiers.weather_pause.sorties\n1.0\n")
    f = write(tree / "y.yaml", "name: y\ndescription: y?\nextends: child.yaml\n"
                               "posterior: par.csv\n")
    assert "a 'weather' modifier has no parameter 'sorties'" in error_of(f)
    write(tree / "cf.csv", "modifiers.january_ceasefire.intensity\n0.5\n")
    f = write(tree / "z.yaml", "name: z\ndescription: z?\nextends: child.yaml\n"
                               "posterior: cf.csv\n")
    assert "does not use a 'ceasefire' modifier's 'intensity'" in error_of(f)


def test_the_digest_counts_the_samples_not_the_path(tree: Path) -> None:
    shutil.copytree(tree / "sub", tree / "elsewhere")
    a = load_scenario(tree / "sub" / "p.yaml")
    b = load_scenario(tree / "elsewhere" / "p.yaml")
    assert a.posterior != b.posterior and a.digest() == b.digest()
    write(tree / "elsewhere" / "post.csv", SAMPLES.replace("0.60", "0.61"))
    assert load_scenario(tree / "elsewhere" / "p.yaml").digest() != a.digest()
    assert with_overrides(a, sets={"posterior": None}).digest() != a.digest()


def test_overrides_by_dotted_path(tree: Path) -> None:
    sc = load_scenario(tree / "child.yaml")
    off = with_overrides(sc, sets={"posterior": None, "params.speed_scale": 0.5,
                                   "modifiers.spring_shield.counterattack_mult": 1.5,
                                   "modifiers.weather_pause.enabled": False})
    assert off.posterior is None and off.posterior_samples() is None
    assert off.params.speed_scale == 0.5
    assert off.modifiers["spring_shield"].param("counterattack_mult") == 1.5
    assert not off.modifiers["weather_pause"].enabled
    # the original is untouched and keeps its (already read) posterior
    assert sc.params.speed_scale != 0.5 and sc.posterior_samples() is not None
    back = with_overrides(off, sets={"posterior": str(tree / "sub" / "post.csv")})
    assert back.digest() == with_overrides(sc, sets={"params.speed_scale": 0.5,
                                                     "modifiers.spring_shield.counterattack_mult":
                                                     1.5, "modifiers.weather_pause.enabled":
                                                     False}).digest()


@pytest.mark.parametrize("path,value,needle", [
    ("params.sped_scale", 1.0, "did you mean 'speed_scale'"),
    ("params.speed_scale", 99.0, "setting 'params.speed_scale': value 99.0"),
    ("paramz.speed_scale", 1.0, "did you mean 'params'"),
    ("modifiers.spring_sheild.counterattack_mult", 1.0, "did you mean 'spring_shield'"),
    ("posterior", "no/such.csv", "setting 'posterior'"),
])
def test_a_bad_override_is_a_clear_error(path: str, value: object, needle: str) -> None:
    with pytest.raises(ScenarioError, match=re.escape(needle)):
        with_overrides(load_scenario(BASELINE), sets={path: value})


def test_a_run_draws_each_replica_from_the_posterior(tree: Path) -> None:
    """Replicas with a posterior differ from the fixed-parameter run, and every replica equals
    the fixed run of its row's parameters (the posterior's rows, set by hand)."""
    sc = load_scenario(tree / "child.yaml")
    post = sc.posterior_samples()
    assert post is not None
    n, seed = 40, 3
    with_post = run_scenario(sc, None, replicas=n, seed=seed).ensemble
    fixed = with_overrides(sc, sets={"posterior": None})
    base = run_scenario(fixed, None, replicas=n, seed=seed).ensemble
    assert not np.array_equal(with_post.cap_hist, base.cap_hist)
    rows = post.rows(seed, 0, n)
    assert len(set(rows.tolist())) > 1  # several rows are drawn
    # pooled over rows: the ensemble of the posterior run is the sum of per-row runs restricted
    # to the replicas that drew each row; checked on the held counts at the end
    from sim.engines.batch import run_front_batch
    from sim.run import build_campaign

    total = np.zeros_like(with_post.held_count[-1])
    for row in np.unique(rows):
        x = post.samples[row]
        one = with_overrides(fixed, sets={
            "params.speed_scale": float(x[0]), "params.footprint_km": float(x[1]),
            "modifiers.spring_shield.counterattack_mult": float(x[2])})
        chunk = next(run_front_batch(build_campaign(one), seed, n))
        total += (chunk.final_control[rows == row] == 1).sum(axis=0)
    np.testing.assert_array_equal(total, with_post.held_count[-1])


def test_the_manifest_names_the_posterior(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli.main(["run", str(tree / "child.yaml"), "--replicas", "20", "--seed", "1",
                     "--out", str(out), "--quiet"]) == 0
    man = json.loads((out / "manifest.json").read_text())
    post = load_scenario(tree / "child.yaml").posterior_samples()
    assert post is not None and man["posterior_sha256"] == post.digest()
    assert Path(man["posterior_file"]).resolve() == (tree / "sub" / "post.csv").resolve()
    out2 = tmp_path / "out2"
    assert cli.main(["run", str(tree / "child.yaml"), "--replicas", "20", "--seed", "1",
                     "--out", str(out2), "--quiet", "--no-posterior"]) == 0
    assert json.loads((out2 / "manifest.json").read_text())["posterior_sha256"] is None


def test_compare_needs_the_same_posterior_on_both_sides(
        tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with_post = load_scenario(tree / "child.yaml")
    without = with_overrides(load_scenario(BASELINE), sets={"posterior": None})
    with pytest.raises(ScenarioError, match="same posterior samples, or neither"):
        compare(without, with_post, replicas=10, seed=1)
    assert cli.main(["compare", str(BASELINE), str(tree / "child.yaml"), "--replicas", "10",
                     "--out", str(tree / "cmp"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("idlib-sim: error:") and "Traceback" not in err
    assert not (tree / "cmp").exists()
    # the same samples on both sides: a lever-free comparison is exactly zero, replica by replica
    cmp = compare(with_post, with_post, replicas=600, seed=5)
    assert (cmp.towns["diff"] == 0).all() and cmp.posterior_sha256 is not None
    # both off: pairs again
    off = with_overrides(with_post, sets={"posterior": None})
    assert compare(without, off, replicas=10, seed=1).posterior_sha256 is None
