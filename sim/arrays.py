"""A run's results as one labelled array: an :class:`xarray.Dataset`, written as ``results.nc``.

What the Dataset holds (dimensions in brackets; every date is a ``datetime64`` coordinate)::

    p_held                 [date, town]      P(government holds the town) at the end of the date
    p_captured, p_held_at_end, p_recaptured   [town]
    capture_date_quantile  [town, quantile]  date of the first government capture (NaT: the
                                             quantile lies beyond the share of replicas captured)
    recorded_capture_date  [town]            the record's first-capture date (NaT: none)
    gov_area_km2           [date, quantile]  government-held area at the end of the date
    gov_area_mean_km2      [date]
    capture_date, recapture_date, last_capture_date   [replica, town]   (when per-replica tables
                                             are given and the run has at most
                                             :data:`PER_REPLICA_MAX` replicas)

Coordinates of ``town``: ``lat``, ``lon`` (WGS84 degrees), ``area_km2`` (its Voronoi cell),
``initial_control`` (1 = government on 18 Dec 2019); of ``date``: ``day``. Day convention, as in
every table (:mod:`sim.results`): day ``d`` is the date ``start + d``; a town captured during day
``k`` has capture date ``start + k``; a state on a date is the state at the end of that date, and
the first state row is day ``-1`` (the end of the day before the start: the initial control).

NetCDF backend: ``h5netcdf`` (NetCDF-4/HDF5 through ``h5py``'s wheels). NetCDF-4 is what allows
compression and strings; the ``scipy`` backend writes only NetCDF-3 (no compression, no 64-bit
integers), and ``netCDF4`` would add the C netCDF library, which ``h5netcdf`` does not need.
Files it writes are plain NetCDF-4, readable by ``netCDF4``, ``ncdump`` and QGIS.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import xarray as xr
from numpy.typing import NDArray

from sim.errors import DataError
from sim.model.campaign import FrontCampaign
from sim.results import QUANTILES, Ensemble
from sim.theatre.history import recorded_captures

#: Largest number of replicas whose per-replica days go into the Dataset: three ``(replicas,
#: towns)`` arrays of datetime64 take 3 x 8 bytes per value in memory (10 000 replicas x 136
#: towns: 33 MB). Beyond it the run's parquet files hold them; the Dataset says so in its attrs.
PER_REPLICA_MAX = 20_000

#: Per-replica day tables of a run folder and the Dataset variable each becomes.
PER_REPLICA_FILES = {
    "capture_days.parquet": ("capture_date", "first capture by the government"),
    "recapture_days.parquet": ("recapture_date", "first recapture by the opposition"),
    "last_capture_days.parquet": ("last_capture_date",
                                  "last capture by the government (its retaking, if later)"),
}



def _dates(start: dt.date, days: NDArray[np.floating] | NDArray[np.integer]) -> NDArray[Any]:
    """``start + days`` as ``datetime64[ns]``; NaN or negative days (never) become NaT."""
    d = np.asarray(days, dtype=float)
    out = np.full(d.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = np.isfinite(d) & (d >= 0)
    out[ok] = np.datetime64(start, "ns") + d[ok].astype(np.int64) * np.timedelta64(1, "D")
    return out


def _attr(value: Any) -> Any:
    """A manifest value as a NetCDF attribute (strings, numbers; ``None`` -> ``""``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float | str):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return json.dumps(value, default=str)


def read_per_replica(run_dir: str | Path, towns: list[str]) -> dict[str, NDArray[np.int16]]:
    """The per-replica day tables of a run folder, ``{file name: (replicas, towns)}``, ``-1`` =
    never. Raises :class:`~sim.errors.DataError` when a table's columns are not ``towns``."""
    out: dict[str, NDArray[np.int16]] = {}
    for fname in PER_REPLICA_FILES:
        path = Path(run_dir) / fname
        if not path.exists():
            continue
        table = pq.read_table(path)
        if table.column_names != towns:
            bad = next((c for c, t in zip(table.column_names, towns, strict=False) if c != t),
                       f"{len(table.column_names)} columns")
            raise DataError(str(path), None, "columns", bad,
                            f"expected the campaign's {len(towns)} towns in order")
        out[fname] = np.column_stack([table.column(i).to_numpy() for i in range(len(towns))]
                                     ).astype(np.int16).reshape(table.num_rows, len(towns))
    return out


def to_dataset(ens: Ensemble, campaign: FrontCampaign, *,
               per_replica: str | Path | Mapping[str, NDArray[np.integer]] | None = None,
               attrs: Mapping[str, Any] | None = None) -> xr.Dataset:
    """The results of a run as an :class:`xarray.Dataset` (see the module docstring).

    Parameters
    ----------
    ens : the run's aggregates.
    campaign : the campaign it ran (theatre, start and end).
    per_replica : a run folder holding ``capture_days.parquet`` (and the recapture tables), or a
        mapping ``{file name: (replicas, towns) days}`` as :func:`read_per_replica` returns;
        ``None``: no per-replica variables. Left out, and said so in ``attrs``, beyond
        :data:`PER_REPLICA_MAX` replicas.
    attrs : provenance (the manifest's fields: scenario, seed, engine, ...), stored as global
        attributes; values that are not strings or numbers are stored as JSON.
    """
    th = campaign.theatre
    towns = list(ens.towns)
    if towns != th.names:
        raise ValueError("the ensemble's towns are not the campaign's")
    days = ens.state_days()["day"].to_numpy()  # -1 .. n_days - 1, each at the end of its date
    date = _dates(ens.start - dt.timedelta(days=1), days + 1)
    qs = np.asarray(QUANTILES)
    coords: dict[str, Any] = {
        "town": ("town", np.array(towns, dtype=object)),
        "date": ("date", date, {"long_name": "state at the end of the date",
                                "standard_name": "time"}),
        "day": ("date", days.astype(np.int16), {"long_name": "day index of the date (0 = start)"}),
        "quantile": ("quantile", qs, {"long_name": "quantile over replicas", "units": "1"}),
        "lat": ("town", th.towns["lat"].to_numpy(float),
                {"units": "degrees_north", "standard_name": "latitude"}),
        "lon": ("town", th.towns["lon"].to_numpy(float),
                {"units": "degrees_east", "standard_name": "longitude"}),
        "area_km2": ("town", th.area_km2, {"units": "km2", "long_name": "area of the town's cell"}),
        "initial_control": ("town", th.initial_control.astype(np.int8),
                            {"long_name": "control on 18 Dec 2019", "flag_values": [0, 1],
                             "flag_meanings": "opposition government"}),
    }
    rec = recorded_captures(th, campaign.start, campaign.end)
    rec_day = np.full(len(towns), np.nan)
    if len(rec):
        rec_day[rec["node"].to_numpy(int)] = rec["day"].to_numpy(float) - (
            campaign.start - ens.start).days
    rec_date = _dates(ens.start, rec_day)
    terr = ens.territory_table()
    data: dict[str, Any] = {
        "p_held": (("date", "town"), ens.held_count / ens.n,
                   {"units": "1", "long_name": "P(government holds the town) at the end of the "
                                               "date"}),
        "p_captured": ("town", ens.p_captured(),
                       {"units": "1", "long_name": "P(captured by the government in the run)"}),
        "p_held_at_end": ("town", ens.p_held_at_end(),
                          {"units": "1", "long_name": f"P(government holds it) at the end of "
                                                      f"{ens.date(ens.n_days - 1).isoformat()}"}),
        "p_recaptured": ("town", ens.recaptured / ens.n,
                         {"units": "1", "long_name": "P(the opposition retook it at least once)"}),
        "capture_date_quantile": (("town", "quantile"),
                                  _dates(ens.start, ens.capture_day_quantiles(QUANTILES)),
                                  {"long_name": "quantile of the first-capture date (NaT: beyond "
                                                "the share of replicas in which it fell)"}),
        "recorded_capture_date": ("town", rec_date,
                                  {"long_name": "first-capture date in the record (NaT: none)",
                                   "source": "seeds/events.csv via sim.theatre.recorded_captures"}),
        "gov_area_km2": (("date", "quantile"),
                         terr[[f"q{round(q * 100):02d}_km2" for q in QUANTILES]].to_numpy(float),
                         {"units": "km2", "long_name": "government-held area at the end of the "
                                                       "date (with partial progress), quantile "
                                                       "over replicas"}),
        "gov_area_mean_km2": ("date", terr["mean_km2"].to_numpy(float),
                              {"units": "km2", "long_name": "mean government-held area at the end "
                                                            "of the date"}),
    }
    global_attrs: dict[str, Any] = {
        "title": "idlib-sim run: moving-front model of the NW Syria offensive",
        "Conventions": "CF-1.8",
        "replicas": ens.n, "start": ens.start.isoformat(),
        "end": ens.date(ens.n_days).isoformat(),
        "day_convention": "day d = date start + d; captured during day k: date start + k; a state "
                          "on a date: at the end of it (day -1: the initial control)",
    }
    if per_replica is not None:
        if ens.n > PER_REPLICA_MAX:  # checked before reading: a large run's tables are big
            global_attrs["per_replica"] = (f"left out ({ens.n} replicas > {PER_REPLICA_MAX}); "
                                           "see the run's *_days.parquet files")
        else:
            tables = (read_per_replica(per_replica, towns)
                      if isinstance(per_replica, str | Path) else dict(per_replica))
            for fname, days in tables.items():
                name, what = PER_REPLICA_FILES[fname]
                arr = np.asarray(days)
                if arr.shape != (ens.n, len(towns)):
                    raise ValueError(f"{fname}: shape {arr.shape}, expected {(ens.n, len(towns))}")
                data[name] = (("replica", "town"), _dates(ens.start, arr),
                              {"long_name": f"date of the {what} (NaT: never)"})
            coords["replica"] = ("replica", np.arange(ens.n, dtype=np.int64))
    global_attrs.update({k: _attr(v) for k, v in (attrs or {}).items()})
    return xr.Dataset(data, coords=coords, attrs=global_attrs)


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` as NetCDF-4 (``h5netcdf``), compressed; dates as integer days since the
    first date with ``-1`` for NaT, so the per-replica arrays take two bytes a value."""
    start = pd.Timestamp(ds["date"].values[0]).date().isoformat()
    enc: dict[str, dict[str, Any]] = {}
    for name, var in ds.data_vars.items():
        e: dict[str, Any] = {"zlib": True, "complevel": 4}
        if np.issubdtype(var.dtype, np.datetime64):
            e.update(dtype="int16", units=f"days since {start}", calendar="proleptic_gregorian",
                     _FillValue=-1)
        enc[str(name)] = e
    enc_coords = {"date": {"units": f"days since {start}", "calendar": "proleptic_gregorian",
                           "dtype": "int32"}}
    ds.to_netcdf(Path(path), engine="h5netcdf", encoding={**enc, **enc_coords})
    return Path(path)
