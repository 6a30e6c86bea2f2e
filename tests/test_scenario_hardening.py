"""Hardened scenario loading: everything `validate` accepts runs and means something, no input
gives a traceback or runs away, errors point at the file and line that wrote the bad value, all
at once, and the command line follows the file's rules."""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

import pytest

from sim import cli
from sim.errors import ScenarioError
from sim.model.modifiers import KIND_PARAMS
from sim.model.params import PRIORS, FrontParams, bounds
from sim.scenario import load_scenario

BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"
HEAD = f"name: t\ndescription: Is this accepted?\nextends: {BASELINE}\n"


def write(tmp: Path, text: str, name: str = "s.yaml") -> Path:
    f = tmp / name
    f.write_text(text)
    return f


def error_of(f: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    return str(info.value)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = cli.main(argv)
    return rc, capsys.readouterr().err


# ------------------------------------------------------------------ accepted means it runs

def test_partial_factor_mappings_merge_with_their_defaults_and_run(tmp_path: Path) -> None:
    from sim.run import run_scenario

    f = write(tmp_path, HEAD + "params:\n  terrain_factor: {mountain: 0.3}\n"
                               "  posture_factor: {fortified: 0.2}\n")
    sc = load_scenario(f)
    d = FrontParams()
    assert sc.params.terrain_factor == {**d.terrain_factor, "mountain": 0.3}
    assert sc.params.posture_factor == {**d.posture_factor, "fortified": 0.2}
    assert run_scenario(sc, None, replicas=20, seed=1).ensemble.n == 20


def test_unknown_factor_class_is_refused_with_did_you_mean(tmp_path: Path) -> None:
    f = write(tmp_path, HEAD + "params:\n  terrain_factor:\n    mountian: 0.3\n")
    msg = error_of(f)
    assert re.search(r"s\.yaml:6: field 'params\.terrain_factor\.mountian'.*did you mean "
                     r"'mountain'", msg), msg


@pytest.mark.parametrize("end", ["2200-01-01", "9999-12-31", "2050-01-01", "2021-01-02"])
def test_period_ends_by_the_horizon(tmp_path: Path, end: str) -> None:
    msg = error_of(write(tmp_path, HEAD + f"period: {{end: {end}}}\n"))
    assert re.search(r"s\.yaml:4: field 'period\.end': value '" + end, msg), msg


def test_a_period_to_the_horizon_runs_and_its_day_indices_fit(tmp_path: Path) -> None:
    from sim.run import run_scenario

    sc = load_scenario(write(tmp_path, HEAD + "period: {end: 2021-01-01}\n"))
    ens = run_scenario(sc, None, replicas=10, seed=2).ensemble
    assert ens.n_days == 379 and ens.p_captured().max() > 0


def test_period_cannot_start_before_the_offensive(tmp_path: Path) -> None:
    msg = error_of(write(tmp_path, HEAD + "period: {start: 2019-12-18}\n"))
    assert "field 'period.start'" in msg and "before the offensive" in msg


def _float_fields() -> list[str]:
    return [n for n, f in FrontParams.model_fields.items() if f.annotation in (float, "float")]


def test_the_float_fields_are_found() -> None:
    assert {"speed_scale", "footprint_km", "garrison_k_per_town"} <= set(_float_fields())


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "-1.0", "1e-308", "1.0e300", "true",
                                   "'0.5'"])
@pytest.mark.parametrize("field", _float_fields())
def test_every_parameter_refuses_meaningless_values(tmp_path: Path, field: str,
                                                    value: str) -> None:
    msg = error_of(write(tmp_path, HEAD + f"params:\n  {field}: {value}\n"))
    assert f"s.yaml:5: field 'params.{field}'" in msg, msg


@pytest.mark.parametrize("value", [".nan", ".inf", "-1.0", "1e-308", "true"])
@pytest.mark.parametrize("group,key", [("terrain_factor", "plain"),
                                       ("posture_factor", "prepared")])
def test_rate_factors_refuse_meaningless_values(tmp_path: Path, group: str, key: str,
                                                   value: str) -> None:
    msg = error_of(write(tmp_path, HEAD + f"params:\n  {group}: {{{key}: {value}}}\n"))
    assert f"field 'params.{group}.{key}'" in msg, msg


def test_every_parameter_has_a_finite_range_holding_its_default_and_prior() -> None:
    from sim.model.modifiers import KIND_PARAM_RANGES

    for name in _float_fields():
        lo, hi = bounds(name)
        assert math.isfinite(lo) and math.isfinite(hi), name
        assert lo <= getattr(FrontParams(), name) <= hi, name
    for name, prior in PRIORS.items():  # the free fields: the prior has mass inside the range
        lo, hi = bounds(name)
        dist = prior.dist()
        assert dist.cdf(hi) - dist.cdf(lo) > 0.5, name
    for kind, table in KIND_PARAM_RANGES.items():
        for key, (default, lo, hi) in table.items():
            assert math.isfinite(lo) and math.isfinite(hi) and lo <= default <= hi, (kind, key)
            assert KIND_PARAMS[kind][key] == default


@pytest.mark.parametrize("value", [".nan", "-0.5", "1e-308", "true", "1.0e9"])
def test_modifier_parameters_refuse_meaningless_values(tmp_path: Path, value: str) -> None:
    msg = error_of(write(tmp_path, HEAD + f"modifiers:\n  spring_shield:\n"
                                          f"    params: {{counterattack_mult: {value}}}\n"))
    assert "s.yaml:6: field 'modifiers.spring_shield.params" in msg, msg


@pytest.mark.parametrize("line,field", [
    ("seed: true", "seed"), ("replicas: true", "replicas"), ("replicas: 2.5", "replicas"),
    ("replicas: '5'", "replicas"), ("period: {start: 0}", "period.start"),
    ("period: {start: 2020-01-01T10:00:00}", "period.start"), ("engine: 1", "engine"),
    ("outputs: {plots: 'yes'}", "outputs.plots"),
    ("modifiers: {spring_shield: {enabled: 'no'}}", "modifiers.spring_shield.enabled"),
])
def test_strict_types(tmp_path: Path, line: str, field: str) -> None:
    msg = error_of(write(tmp_path, HEAD + line + "\n"))
    assert f"s.yaml:4: field '{field}'" in msg, msg


@pytest.mark.parametrize("name", ["' '", "''", "../../x", "/abs/path", "'.'", "'..'", "a b",
                                  "x/y", "'a\\\\b'"])
def test_a_scenario_name_is_a_plain_file_name(tmp_path: Path, name: str) -> None:
    f = write(tmp_path, f"name: {name}\ndescription: Where would this write?\n")
    assert re.match(r"\S+s\.yaml:1: field 'name'", error_of(f))


def test_a_blank_description_is_refused(tmp_path: Path) -> None:
    assert "field 'description'" in error_of(write(tmp_path, "name: t\ndescription: '  '\n"))


def test_yaml_1_2_floats_are_numbers(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, HEAD + "params: {speed_scale: 3e-1}\n"))
    assert sc.params.speed_scale == 0.3


# --------------------------------------------------------------- one set of rules: the CLI

@pytest.mark.parametrize("argv", [["--replicas", "0"], ["--replicas", "-5"],
                                  ["--replicas", str(10**12)], ["--seed", "-1"],
                                  ["--seed", str(2**64)]])
@pytest.mark.parametrize("command", ["run", "compare"])
def test_command_line_overrides_follow_the_file_rules(tmp_path: Path, argv: list[str],
                                                      command: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(BASELINE)] * (2 if command == "compare" else 1)
    rc, err = run_cli([command, *files, *argv, "--out", str(tmp_path / "o"), "--quiet"], capsys)
    assert rc == 2, err
    assert err.count("\n") == 1 and f"option '{argv[0]}': value {argv[1]}" in err, err
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------- no traceback, no runaway input

def _quick(f: Path, limit_s: float = 5.0) -> str:
    t0 = time.perf_counter()
    msg = error_of(f)
    assert time.perf_counter() - t0 < limit_s
    assert len(msg) < 3000, len(msg)
    return msg


@pytest.mark.parametrize("opener,closer", [("[", "]"), ("{a: ", "}")])
def test_deep_nesting_is_refused(tmp_path: Path, opener: str, closer: str) -> None:
    f = write(tmp_path, HEAD + "params: " + opener * 1000 + "1" + closer * 1000 + "\n")
    assert "nested deeper than" in _quick(f)


def test_deep_block_nesting_is_refused(tmp_path: Path) -> None:
    text = HEAD + "".join(" " * i + f"k{i}:\n" for i in range(600)) + " " * 600 + "x: 1\n"
    assert "nested deeper than" in _quick(write(tmp_path, text))


def test_a_long_extends_chain_is_read_linearly_and_capped(tmp_path: Path) -> None:
    write(tmp_path, f"name: c0\ndescription: c?\nextends: {BASELINE}\n", "c0.yaml")
    for i in range(1, 1001):
        write(tmp_path, f"name: c{i}\ndescription: c?\nextends: c{i - 1}.yaml\n", f"c{i}.yaml")
    msg = _quick(tmp_path / "c1000.yaml", 3.0)
    assert re.match(r"\S+c\d+\.yaml:3: field 'extends'.*chain is at most \d+ files", msg), msg
    assert load_scenario(tmp_path / "c10.yaml").name == "c10"


def test_an_over_long_extends_path_is_an_error(tmp_path: Path) -> None:
    for target in ("x" * 5000 + ".yaml", "/".join(["d" * 200] * 30) + ".yaml", "a\0b.yaml"):
        f = write(tmp_path, f"name: t\ndescription: t?\nextends: \"{target}\"\n".replace(
            "\0", "\\0"))
        assert re.match(r"\S+s\.yaml:3: field 'extends'", _quick(f))


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    f = write(tmp_path, HEAD + "description_extra:\n" + "\n".join(
        "  " + ln for ln in lines) + "\nreplicas: *a8\n")
    assert "aliases expand to more than" in _quick(f, 2.0)


def test_small_aliases_are_fine(tmp_path: Path) -> None:
    f = write(tmp_path, HEAD + "period: &p {end: 2020-03-06}\nmodifiers:\n"
                               "  spring_shield: {params: &x {counterattack_mult: 2.0}}\n")
    params = load_scenario(f).modifiers["spring_shield"].params
    assert params["counterattack_mult"] == 2.0


def test_files_are_capped_in_size(tmp_path: Path) -> None:
    f = write(tmp_path, "name: t\ndescription: '" + "x" * 5_000_000 + "?'\n")
    msg = _quick(f, 2.0)
    assert re.match(r"\S+s\.yaml: [\d,]+ bytes; a scenario file is at most", msg), msg


def test_long_values_are_quoted_truncated(tmp_path: Path) -> None:
    f = write(tmp_path, HEAD + "engine: " + "b" * 100_000 + "\nreplicas: [" + "1," * 5_000
              + "1]\n")
    msg = _quick(f)
    assert "100,000 characters" in msg and len(msg) < 1000, msg


def test_a_file_of_many_values_is_refused_quickly(tmp_path: Path) -> None:
    f = write(tmp_path, HEAD + "replicas: [" + "1," * 100_000 + "1]\n")
    assert "values in one file" in _quick(f, 3.0)


def test_a_file_that_is_not_a_scenario_is_not_echoed(tmp_path: Path) -> None:
    secret = write(tmp_path, "root:$6$SECRETSALT$hash:19000:0:99999:7:::\n"
                             "daemon:*:19000:0:99999:7:::\n", "shadow")
    for text in (f"name: t\ndescription: t?\nextends: {secret}\n",
                 f"name: t\ndescription: t?\nextends: {secret}\nparams: {{}}\n"):
        msg = _quick(write(tmp_path, text))
        assert "SECRET" not in msg and "daemon" not in msg, msg
        assert "not a scenario file" in msg, msg
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\x00\x01SECRET\xff\xfe")
    msg = _quick(write(tmp_path, f"name: t\ndescription: t?\nextends: {binary}\n"))
    assert "SECRET" not in msg, msg


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
def test_special_files_are_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    for target in (fifo, tmp_path, Path("/dev/zero")):
        if target.exists():
            msg = _quick(write(tmp_path, f"name: t\ndescription: t?\nextends: {target}\n"), 2.0)
            assert "regular file" in msg or "folder" in msg or "no such file" in msg, msg


def test_a_symlink_loop_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    assert "extends" in _quick(write(tmp_path, "name: t\ndescription: t?\nextends: loop.yaml\n"))


# ------------------------------------------------ errors point at the right place, all at once

def test_a_child_without_description_is_blamed_on_the_child(tmp_path: Path) -> None:
    f = write(tmp_path, f"name: t\nextends: {BASELINE}\n")
    assert re.match(r"\S+/s\.yaml:1: field 'description': Field required", error_of(f))


def test_a_bad_value_in_the_parent_is_blamed_on_the_parent(tmp_path: Path) -> None:
    write(tmp_path, "name: p\ndescription: p?\nparams:\n  air_effect: 0.5\n"
                    "  speed_scale: -1.0\n", "parent.yaml")
    f = write(tmp_path, "name: c\ndescription: c?\nextends: parent.yaml\n"
                        "params:\n  air_effect: 0.3\n")
    assert re.match(r"\S+/parent\.yaml:5: field 'params\.speed_scale': value -1\.0",
                    error_of(f))
    g = write(tmp_path, "name: c\ndescription: c?\nextends: parent.yaml\n"
                        "params:\n  speed_scale: 0.5\n", "fixed.yaml")
    assert load_scenario(g).params.speed_scale == 0.5


def test_a_bad_modifier_value_in_the_parent_is_blamed_on_the_parent(tmp_path: Path) -> None:
    write(tmp_path, "name: p\ndescription: p?\nmodifiers:\n  m:\n    kind: ceasefire\n"
                    "    start: 2020-02-30\n", "parent.yaml")
    f = write(tmp_path, "name: c\ndescription: c?\nextends: parent.yaml\n"
                        "modifiers:\n  m: {enabled: false}\n")
    assert re.match(r"\S+/parent\.yaml:6: field 'modifiers\.m\.start'", error_of(f))


def test_duplicate_keys_are_refused_naming_both_lines(tmp_path: Path) -> None:
    f = write(tmp_path, "name: t\ndescription: t?\nmodifiers:\n  a: {kind: weather, "
                        "start: 2020-01-01}\nreplicas: 5\nmodifiers:\n  b: {kind: weather, "
                        "start: 2020-01-02}\n")
    msg = error_of(f)
    assert re.match(r"\S+s\.yaml:6: duplicate key 'modifiers' \(first on line 3\)", msg), msg
    f = write(tmp_path, HEAD + "params:\n  air_effect: 0.1\n  air_effect: 0.2\n")
    assert re.match(r"\S+s\.yaml:6: duplicate key 'air_effect' \(first on line 5\)", error_of(f))


def test_an_empty_file_gives_a_real_line(tmp_path: Path) -> None:
    for text in ("", "\n\n", "# only a comment\n"):
        msg = error_of(write(tmp_path, text))
        assert re.match(r"\S+s\.yaml:1: ", msg) and "None" not in msg, msg


def test_every_error_of_a_file_is_reported_sorted_by_line(tmp_path: Path) -> None:
    f = write(tmp_path, HEAD + "replicas: 0\nseed: -1\nparams:\n  air_effect: -1.0\n"
                               "  bogus: 1\nengine: rocket\n")
    lines = error_of(f).splitlines()
    numbers = [int(re.match(r"\S+s\.yaml:(\d+): ", ln)[1]) for ln in lines]  # type: ignore[index]
    assert numbers == [4, 5, 7, 8, 9], lines
    assert "did you mean" not in lines[3] or "bogus" in lines[3]


def test_a_misspelt_modifier_suggests_the_existing_name(tmp_path: Path) -> None:
    f = write(tmp_path, HEAD + "modifiers:\n  russian_air_renwed: {enabled: false}\n")
    msg = error_of(f)
    assert re.match(r"\S+s\.yaml:5: field 'modifiers\.russian_air_renwed': .*did you mean "
                    r"'russian_air_renewed'", msg), msg
    assert msg.count("\n") == 0, msg


def test_names_and_schema_errors_come_together(tmp_path: Path) -> None:
    f = write(tmp_path, HEAD + "replicas: 0\nforces:\n  formations:\n"
                               "    25th_SMFX: {strength_k: 1.0}\n")
    msg = error_of(f)
    assert "field 'replicas'" in msg and "did you mean '25th_SMFD'" in msg, msg


