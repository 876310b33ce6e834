"""A campaign's results file (SQLite): one row per run, the campaign's
parameters, and a line per session that worked on it.

Tables:

    meta(key, value)          format, seed, faults, population, board, runs,
                              code (sim.campaign.code_fingerprint), created
    runs(idx PRIMARY KEY, …)  one row per finished run (sim.campaign.ROW_COLUMNS)
    sessions(…)               started, ended, workers, runs done, wall seconds

A run's row is written once (its number is the primary key: a resumed
campaign cannot repeat one) and rows are committed in batches: a campaign
cut off loses at most the runs since the last commit, which a resume runs
again.  Any SQLite reader opens the file (`sqlite3 out/campaign.sqlite
'select kind, count(*) from runs group by kind'`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from sim import campaign

FORMAT = "needlepen-campaign-1"

_COLUMN_TYPES = {
    "idx": "INTEGER PRIMARY KEY", "kind": "TEXT NOT NULL", "pen": "INTEGER", "seed": "INTEGER", "level": "INTEGER",
    "depth_um": "INTEGER", "tissue": "TEXT", "inject_s": "REAL", "first": "TEXT", "all_faults": "TEXT",
    "detect_ms": "REAL", "bound_ms": "REAL", "reaction_ticks": "INTEGER", "not_provoked": "INTEGER",
    "violations": "TEXT",
}
assert tuple(_COLUMN_TYPES) == campaign.ROW_COLUMNS

# The parameters that define which runs a campaign holds: a resume must give
# the same ones (runs may grow: run i is the same run whatever the total).
DEFINING = ("seed", "faults", "population", "board")


class ResultsError(Exception):
    """The results file cannot be used; the text says why and what to do."""


def plan_of(meta: dict[str, Any]) -> campaign.Plan:
    return campaign.Plan(int(meta["seed"]), tuple(meta["faults"]), str(meta["population"]), str(meta["board"]))


def params_of(plan: campaign.Plan, runs: int) -> dict[str, Any]:
    return {"seed": plan.seed, "faults": sorted(plan.faults), "population": plan.population, "board": plan.board,
            "runs": runs}


class Results:
    """An open results file."""

    def __init__(self, path: Path, db: sqlite3.Connection, meta: dict[str, Any]) -> None:
        self.path = path
        self.db = db
        self.meta = meta
        self._pending: list[dict[str, Any]] = []
        self.created = False             # made by this open (removed again if nothing ran)

    # ---- opening -----------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path) -> Results:
        """An existing results file, for reading (report, replay)."""
        p = Path(path)
        if not p.exists():
            raise ResultsError(f"{p}: no such file; give the --out file of a `needlepen campaign run`")
        if p.is_dir():
            raise ResultsError(f"{p}: is a folder; give the --out file of a `needlepen campaign run`")
        db = _connect(p)
        return cls(p, db, _read_meta(p, db))

    @classmethod
    def create_or_resume(cls, path: str | Path, plan: campaign.Plan, runs: int, code: str) -> Results:
        """The file for a campaign run: a new one, or the same campaign's to
        resume (refused if its parameters or the simulator's code differ)."""
        p = Path(path)
        want = params_of(plan, runs)
        if p.exists() and p.stat().st_size > 0:
            db = _connect(p)
            meta = _read_meta(p, db)
            diff = [k for k in DEFINING if meta.get(k) != want[k]]
            if diff:
                db.close()
                have = ", ".join(f"{k} {_show(meta.get(k))}" for k in diff)
                asked = ", ".join(f"{k} {_show(want[k])}" for k in diff)
                raise ResultsError(f"{p} holds a campaign with {have} (this command: {asked}); give the same "
                                   f"parameters to resume it, or another --out for a new campaign")
            if meta.get("code") != code:
                db.close()
                raise ResultsError(f"{p} was run with other simulator or firmware code (fingerprint {meta.get('code')}"
                                   f", now {code}); finish it with the code it started with, or start a new --out")
            done = db.execute("SELECT count(*), max(idx) FROM runs").fetchone()
            if runs < int(meta["runs"]) and done[1] is not None and done[1] >= runs:
                db.close()
                raise ResultsError(f"{p} already holds runs up to number {done[1]} of {meta['runs']}; give --runs "
                                   f"{meta['runs']} (or more) to resume it, or another --out")
            if runs != int(meta["runs"]):
                meta["runs"] = runs
                with db:
                    db.execute("UPDATE meta SET value = ? WHERE key = 'runs'", (json.dumps(runs),))
            return cls(p, db, meta)
        p.parent.mkdir(parents=True, exist_ok=True)
        db = _connect(p)
        meta = dict(want, format=FORMAT, code=code, created=time.strftime("%Y-%m-%d %H:%M:%S"))
        cols = ", ".join(f"{c} {t}" for c, t in _COLUMN_TYPES.items())
        with db:
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute(f"CREATE TABLE runs ({cols})")
            db.execute("CREATE TABLE sessions (started TEXT, ended TEXT, workers TEXT, runs INTEGER, wall_s REAL)")
            db.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
        res = cls(p, db, meta)
        res.created = True
        return res

    # ---- writing -----------------------------------------------------------------------
    def add(self, rows: list[dict[str, Any]]) -> None:
        """Rows to write at the next commit()."""
        self._pending += rows

    @property
    def uncommitted(self) -> int:
        return len(self._pending)

    def commit(self) -> int:
        """Write the pending rows in one transaction; returns how many."""
        rows, self._pending = self._pending, []
        if rows:
            marks = ", ".join("?" * len(campaign.ROW_COLUMNS))
            with self.db:
                self.db.executemany(f"INSERT INTO runs VALUES ({marks})",
                                    [tuple(r[c] for c in campaign.ROW_COLUMNS) for r in rows])
        return len(rows)

    def log_session(self, started: float, workers: str, runs: int, wall_s: float) -> None:
        with self.db:
            self.db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                            (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
                             time.strftime("%Y-%m-%d %H:%M:%S"), workers, runs, wall_s))

    def close(self) -> None:
        self.db.close()

    def discard(self) -> None:
        """Close and remove a file this open created, if it holds no run."""
        empty = self.created and not self.done()
        self.db.close()
        if empty:
            for f in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
                f.unlink(missing_ok=True)

    # ---- reading -----------------------------------------------------------------------
    @property
    def runs(self) -> int:
        return int(self.meta["runs"])

    def plan(self) -> campaign.Plan:
        return plan_of(self.meta)

    def done(self) -> set[int]:
        return {i for (i,) in self.db.execute("SELECT idx FROM runs")}

    def rows(self) -> list[dict[str, Any]]:
        cur = self.db.execute(f"SELECT {', '.join(campaign.ROW_COLUMNS)} FROM runs ORDER BY idx")
        return [dict(zip(campaign.ROW_COLUMNS, r)) for r in cur]

    def row(self, idx: int) -> dict[str, Any] | None:
        r = self.db.execute(f"SELECT {', '.join(campaign.ROW_COLUMNS)} FROM runs WHERE idx = ?", (idx,)).fetchone()
        return dict(zip(campaign.ROW_COLUMNS, r)) if r else None

    def sessions(self) -> list[dict[str, Any]]:
        cur = self.db.execute("SELECT started, ended, workers, runs, wall_s FROM sessions")
        return [dict(zip(("started", "ended", "workers", "runs", "wall_s"), r)) for r in cur]


def _show(v: Any) -> str:
    return ",".join(v) if isinstance(v, list) else str(v)


def _connect(p: Path) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(p, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")        # a report can read while a campaign writes
        return db
    except sqlite3.Error as e:
        raise ResultsError(f"{p}: cannot open it as a results file ({e}); give the --out file of a "
                           f"`needlepen campaign run`") from None


def _read_meta(p: Path, db: sqlite3.Connection) -> dict[str, Any]:
    what = "give the --out file of a `needlepen campaign run`"
    try:
        meta = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}
        db.execute("SELECT idx FROM runs LIMIT 1").fetchall()
    except sqlite3.DatabaseError as e:
        db.close()
        raise ResultsError(f"{p}: not a needlepen campaign results file ({e}); {what}") from None
    except ValueError:
        db.close()
        raise ResultsError(f"{p}: its campaign parameters are damaged; {what}") from None
    if meta.get("format") != FORMAT:
        db.close()
        raise ResultsError(f"{p}: not a needlepen campaign results file (format {meta.get('format')!r}); {what}")
    try:
        plan_of(meta)
    except (KeyError, TypeError, ValueError) as e:
        db.close()
        raise ResultsError(f"{p}: its campaign parameters are not valid here ({e}); {what}") from None
    return meta
