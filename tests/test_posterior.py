"""Posterior files: validation, row draws, and replicas that run with their row's parameters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim.engines.batch import FrontChunk, run_chunk, run_front_batch
from sim.engines.chunk import BLOCK
from sim.engines.des import run_front_des, run_front_replica
from sim.engines.knobs import Knobs
from sim.errors import PosteriorError
from sim.model import posterior as post_mod
from sim.model.campaign import FrontCampaign, make_front_campaign
from sim.model.forces import load_forces
from sim.model.modifiers import Modifier
from sim.model.params import FrontParams, sample_prior
from sim.model.posterior import Posterior, check_campaign
from sim.scenario import load_scenario
from sim.theatre import Theatre

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
FIELDS = ("first_capture_day", "last_capture_day", "n_recaptures", "final_control",
          "gov_area_km2", "first_recapture_day", "group_area_km2")


def _write(tmp_path: Path, text: str | bytes, name: str = "post.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


@pytest.fixture(scope="module")
def mods() -> list[Modifier]:
    return load_scenario(BASELINE).modifier_list()


@pytest.fixture(scope="module")
def campaign(theatre: Theatre, mods: list[Modifier]) -> FrontCampaign:
    return make_front_campaign(theatre, load_forces(theatre), modifiers=mods)


# -- the file -------------------------------------------------------------------------------

MOD_COLS = ("modifiers.spring_shield.air_denial", "modifiers.spring_shield.defence_mult",
            "modifiers.russian_air_renewed.sorties")


@pytest.fixture(scope="module")
def diverse(tmp_path_factory: pytest.TempPathFactory) -> Posterior:
    """Four prior draws of every free field plus three modifier parameters, with the footprint
    spread from 5 to 35 km (so that the footprint mask differs between rows)."""
    draws = sample_prior(np.random.default_rng(4), 4)
    free = list(post_mod.PRIORS)
    lines = ["# four prior draws, for tests", ",".join([*free, *MOD_COLS])]
    extra = [(0.1, 1.0, 0.5), (0.9, 2.5, 2.0), (0.5, 1.3, 1.2), (0.0, 0.8, 0.0)]
    for i, p in enumerate(draws):
        vals = [getattr(p, k) for k in free]
        vals[free.index("footprint_km")] = 5.0 + 10.0 * i
        lines.append(",".join(repr(float(x)) for x in [*vals, *extra[i]]))
    path = _write(tmp_path_factory.mktemp("post"), "\n".join(lines) + "\n")
    return Posterior.read_csv(path)


def test_a_file_with_comments_reads_and_its_digest_ignores_formatting(tmp_path: Path) -> None:
    a = Posterior.read_csv(_write(tmp_path, "# from a run\n# on a day\nspeed_scale,air_effect\n"
                                            "1.5,0.25\n0.5,1\n", "a.csv"))
    assert a.names == ("speed_scale", "air_effect") and a.n_samples == 2
    np.testing.assert_array_equal(a.samples, [[1.5, 0.25], [0.5, 1.0]])
    b = Posterior.read_csv(_write(tmp_path, "speed_scale, air_effect\n1.50,2.5e-1\n\n.5,1.0\n",
                                  "b.csv"))
    assert a.digest() == b.digest() and len(a.digest()) == 64
    c = Posterior.read_csv(_write(tmp_path, "speed_scale,air_effect\n1.5,0.25\n0.5,1.01\n",
                                  "c.csv"))
    assert c.digest() != a.digest()


BAD_FILES = {
    "empty": ("", None, "empty"),
    "only comments": ("# nothing\n", None, "empty"),
    "header only": ("speed_scale\n", None, "no sample rows"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", None, "UTF-8"),
    "NUL bytes": ("speed_scale\n1\0\n", None, "binary"),
    "ragged": ("speed_scale,air_effect\n1,0.5\n1\n", 3, "1 values where the header has 2"),
    "non-numeric": ("speed_scale\n1\nfast\n", 3, "'fast': not a number"),
    "NaN": ("speed_scale\n1\nnan\n", 3, "not finite"),
    "infinite": ("speed_scale\ninf\n", 2, "not finite"),
    "out of range": ("# c\nspeed_scale\n1\n7.5\n", 4, "'7.5': outside [0.05, 5.0]"),
    "modifier out of range": ("modifiers.x.air_denial\n1.5\n", 2, "outside [0.0, 1.0]"),
    "tiny modifier value": ("modifiers.x.sorties\n1e-300\n", 2, "too small"),
    "misspelt field": ("sped_scale\n1\n", 1, "did you mean 'speed_scale'"),
    "misspelt parameter": ("modifiers.ss.air_denail\n0.5\n", 1, "did you mean 'air_denial'"),
    "malformed modifier column": ("modifiers.air_denial\n0.5\n", 1, "modifiers.<modifier name>"),
    "fixed field": ("garrison_k_per_town\n0.2\n", 1, "not a free parameter"),
    "first-model prefix": ("params.speed_scale\n1\n", 1, "did you mean 'speed_scale'"),
    "weighted samples": ("speed_scale,weight\n1,0.5\n", 1, "equally weighted"),
    "duplicate column": ("speed_scale,speed_scale\n1,1\n", 1, "duplicate column"),
    "empty column name": ("speed_scale,\n1,2\n", 1, "empty name"),
    "unclosed quote": ('speed_scale\n"1\n', None, "not"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_malformed_file_gives_one_line_naming_file_line_and_column(
        tmp_path: Path, case: str) -> None:
    text, line, words = BAD_FILES[case]
    path = _write(tmp_path, text)
    with pytest.raises(PosteriorError) as err:
        Posterior.read_csv(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and words in msg, msg
    if line is not None:
        assert f"{path}:{line}:" in msg, msg


def test_missing_directory_too_long_and_too_large_files_are_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for path, words in ((tmp_path / "nope.csv", "cannot read"), (tmp_path, "cannot read")):
        with pytest.raises(PosteriorError, match=words):
            Posterior.read_csv(path)
    monkeypatch.setattr(post_mod, "MAX_ROWS", 3)
    with pytest.raises(PosteriorError, match="more than 3 sample rows"):
        Posterior.read_csv(_write(tmp_path, "speed_scale\n1\n1\n1\n1\n"))
    monkeypatch.setattr(post_mod, "MAX_BYTES", 10)
    with pytest.raises(PosteriorError, match="at most 10 are read"):
        Posterior.read_csv(_write(tmp_path, "speed_scale\n1\n1\n1\n1\n"))


def test_a_column_must_name_a_modifier_of_the_campaign_with_that_parameter(
        tmp_path: Path, campaign: FrontCampaign) -> None:
    bad = Posterior.read_csv(_write(tmp_path, "modifiers.spring_sheild.air_denial\n0.5\n"))
    with pytest.raises(PosteriorError, match=r"no modifier 'spring_sheild' .*did you mean "
                                             r"'spring_shield'"):
        check_campaign(campaign, bad)
    wrong_kind = Posterior.read_csv(_write(tmp_path, "modifiers.weather_pause.sorties\n1\n"))
    with pytest.raises(PosteriorError, match="'weather' modifier has no parameter 'sorties'"):
        run_chunk(campaign, 1, 0, 4, posterior=wrong_kind)
    unused = Posterior.read_csv(_write(tmp_path, "modifiers.january_ceasefire.intensity\n0.5\n"))
    with pytest.raises(PosteriorError, match="does not use a 'ceasefire' modifier's 'intensity'"):
        run_front_des(campaign, 1, 1, posterior=unused)


# -- the rows -------------------------------------------------------------------------------

def test_rows_are_chunk_independent_and_depend_only_on_seed_replica_and_sample_count() -> None:
    a = Posterior(("speed_scale",), np.linspace(0.5, 2, 7)[:, None], "a")
    b = Posterior(("air_effect",), np.linspace(0.1, 1, 7)[:, None], "b")
    whole = a.rows(3, 0, 3 * BLOCK)
    for start, n in ((0, 5), (17, BLOCK), (BLOCK - 2, 4), (2 * BLOCK + 1, BLOCK - 1)):
        np.testing.assert_array_equal(a.rows(3, start, n), whole[start:start + n])
    np.testing.assert_array_equal(b.rows(3, 0, 3 * BLOCK), whole)
    assert not np.array_equal(a.rows(4, 0, 3 * BLOCK), whole)
    assert a.rows(3, 10, 0).shape == (0,)


def test_rows_are_uniform_over_the_samples() -> None:
    k, n = 7, 50_000
    post = Posterior(("speed_scale",), np.ones((k, 1)), "flat")
    counts = np.bincount(post.rows(11, 0, n), minlength=k)
    assert counts.sum() == n and len(counts) == k
    # chi-square goodness of fit against 1/k each; fixed seed, alpha 0.001
    assert stats.chisquare(counts).pvalue > 0.001


# -- the engines ----------------------------------------------------------------------------

def _fixed_campaign(theatre: Theatre, mods: list[Modifier], post: Posterior,
                    row: int) -> FrontCampaign:
    """The campaign with row ``row`` written in as fixed values, built without the module under
    test (FrontParams and Modifier parameters set by hand)."""
    x = dict(zip(post.names, post.samples[row], strict=True))
    free = {k: float(v) for k, v in x.items() if not k.startswith("modifiers.")}
    new = []
    for m in mods:
        extra = {k.split(".")[2]: float(v) for k, v in x.items()
                 if k.startswith(f"modifiers.{m.name}.")}
        new.append(m.model_copy(update={"params": {**m.params, **extra}}) if extra else m)
    return make_front_campaign(theatre, load_forces(theatre), FrontParams(**free), new)


def _row_equal(a: FrontChunk, i: int, b: FrontChunk, j: int) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name)[i], getattr(b, name)[j], err_msg=name)


def test_batch_replica_runs_with_its_rows_parameters_bit_for_bit(
        theatre: Theatre, mods: list[Modifier], campaign: FrontCampaign,
        diverse: Posterior) -> None:
    seed, n = 8, 48
    groups = [theatre.initial_control == 0]
    got = run_chunk(campaign, seed, 0, n, area_groups=groups, posterior=diverse)
    rows = diverse.rows(seed, 0, n)
    assert set(rows) == {0, 1, 2, 3}
    finals = []
    for j in range(diverse.n_samples):
        fixed = run_chunk(_fixed_campaign(theatre, mods, diverse, j), seed, 0, n,
                          area_groups=groups)
        for i in np.flatnonzero(rows == j):
            _row_equal(got, i, fixed, i)
        finals.append(fixed.gov_area_km2[:, -1])
    # the rows do matter: each row's fixed run differs from the campaign's own parameters
    plain = run_chunk(campaign, seed, 0, n).gov_area_km2[:, -1]
    assert all(not np.array_equal(f, plain) for f in finals)


def test_the_footprint_follows_each_replicas_footprint_km(
        campaign: FrontCampaign, diverse: Posterior) -> None:
    rows = diverse.rows(8, 0, 48)
    kn = Knobs(campaign, diverse, 8, 0, 48)
    d = campaign.n_days - 1
    r, t = np.nonzero(np.ones((48, campaign.n_towns), bool))
    mask = kn.in_fp(d, r, t).reshape(48, -1)
    for j in range(4):
        want = make_front_campaign(campaign.theatre, campaign.forces,
                                   FrontParams(footprint_km=5.0 + 10.0 * j),
                                   campaign.modifiers).in_fp[d]
        assert (mask[rows == j] == want).all()
    assert len({m.sum() for m in mask}) == 4  # four different footprints


def test_batch_with_a_posterior_does_not_depend_on_chunking(
        campaign: FrontCampaign, diverse: Posterior) -> None:
    n = BLOCK + 21
    whole = list(run_front_batch(campaign, 5, n, chunk_blocks=2, posterior=diverse))
    parts = list(run_front_batch(campaign, 5, n, chunk_blocks=1, posterior=diverse))
    assert len(whole) == 1 and len(parts) == 2
    for name in ("first_capture_day", "gov_area_km2", "n_recaptures", "final_control"):
        joined = np.concatenate([getattr(c, name) for c in parts])
        np.testing.assert_array_equal(getattr(whole[0], name), joined, err_msg=name)


def test_des_replica_runs_with_its_rows_parameters_bit_for_bit(
        theatre: Theatre, mods: list[Modifier], campaign: FrontCampaign,
        diverse: Posterior) -> None:
    seed, start, n = 8, 5, 4
    got = run_front_des(campaign, seed, n, start, posterior=diverse)
    rows = diverse.rows(seed, start, n)
    assert len(set(rows)) > 1
    for i, row in enumerate(rows):
        fixed = run_front_des(_fixed_campaign(theatre, mods, diverse, int(row)), seed, 1,
                              start + i)
        _row_equal(got, i, fixed, 0)
    one = run_front_replica(campaign, seed, start + 1, posterior=diverse)
    np.testing.assert_array_equal(one.first_capture_day, got.first_capture_day[1])


def test_two_campaigns_one_lever_apart_share_rows_and_the_days_before_the_lever(
        campaign: FrontCampaign, diverse: Posterior) -> None:
    off = make_front_campaign(campaign.theatre, campaign.forces, campaign.params,
                              [m.model_copy(update={"enabled": False})
                               if m.name == "spring_shield" else m for m in campaign.modifiers])
    a, b = Knobs(campaign, diverse, 6, 0, 64), Knobs(off, diverse, 6, 0, 64)
    assert a.free.keys() == b.free.keys()
    for k in a.free:
        np.testing.assert_array_equal(a.free[k], b.free[k])
    ra = run_chunk(campaign, 6, 0, 64, posterior=diverse)
    rb = run_chunk(off, 6, 0, 64, posterior=diverse)
    lever = next(m for m in campaign.modifiers if m.name == "spring_shield")
    day = (lever.start - campaign.start).days
    np.testing.assert_array_equal(ra.gov_area_km2[:, :day + 1], rb.gov_area_km2[:, :day + 1])
    assert not np.array_equal(ra.gov_area_km2[:, -1], rb.gov_area_km2[:, -1])
