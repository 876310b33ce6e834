"""The simulator's compiled hot path (CPython only): the modules that run
every simulated tick, compiled by Cython from their own unchanged sources.

The control core is not touched: the very files the pen runs (pen/tick.py,
pen/scheduler.py, ...) are compiled as they are, untyped, so they keep
Python's semantics (arbitrary-size ints, float rounding, exceptions) and a
run gives bit for bit the same trace, faults and campaign rows as the pure
modules (tests/test_accel.py checks that).  What it buys is the
interpreter's dispatch: about 1.7x (docs/simulator.md, "Speed").

    needlepen accel build     compile them (Cython and a C compiler; ~30 s)
    needlepen accel status    what is built, and whether it is used

A build is keyed by the hash of its sources and the interpreter's ABI: one
edit to a compiled module and its build is no longer found (the pure
modules run again; build again).  It is never used stale.

Used when found: importing `sim` (and the `needlepen` command, which
imports it first) puts the build in front of the `pen` and `sim` package
paths, so `import pen.tick` loads the compiled module.  NEEDLEPEN_ACCEL=0
turns it off (the test suite does, but for the tests that compare both);
NEEDLEPEN_ACCEL_DIR moves the builds (default ~/.cache/needlepen/accel).
Modules already imported before `sim` keep running pure.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

# What runs every simulated tick, by package (the runner's own work per
# tick is small: not worth a compiled copy).
MODULES = ("pen/tick", "pen/scheduler", "pen/tach", "pen/app", "sim/plant", "sim/hal", "sim/clock")

# Untyped and with Python's semantics: annotations are not C types, division
# and overflow behave as in the interpreter.  binding stays on: without it
# Cython 3.3 binds a closure's default argument late (`def f(b=b)` in a
# loop saw the last b; a compiled runner pressed the wrong buttons).
DIRECTIVES = {"language_level": 3, "annotation_typing": False, "cdivision": False}

EXT_SUFFIX: str = sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def enabled() -> bool:
    return os.environ.get("NEEDLEPEN_ACCEL", "auto") != "0"


def cache_dir() -> Path:
    d = os.environ.get("NEEDLEPEN_ACCEL_DIR")
    return Path(d) if d else Path.home() / ".cache" / "needlepen" / "accel"


def _sources() -> dict[str, Path]:
    import pen
    import sim
    # the packages' own folders (a build goes in front of __path__)
    roots = {"pen": Path(pen.__file__).parent, "sim": Path(sim.__file__).parent}
    return {m: roots[m.split("/")[0]] / (m.split("/")[1] + ".py") for m in MODULES}


def key() -> str:
    """The build's name: the sources' hash, the directives and the interpreter's ABI."""
    h = hashlib.sha256(f"{EXT_SUFFIX} {sorted(DIRECTIVES.items())}".encode())
    for name, path in _sources().items():
        h.update(f"\n{name}\n".encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def build_path() -> Path:
    return cache_dir() / key()


def find() -> Path | None:
    """The build for the sources as they are now, if there is one."""
    d = build_path()
    if all((d / (m + EXT_SUFFIX)).is_file() for m in MODULES):
        return d
    return None


def activate() -> Path | None:
    """Put a fresh build in front of the package paths (no-op when there is
    none, when it is off, or when already done)."""
    if not enabled():
        return None
    import pen
    import sim
    try:
        d = find()
    except OSError:
        return None
    if d is None:
        return None
    for pkg in (pen, sim):
        p = str(d / pkg.__name__)
        if p not in pkg.__path__:
            pkg.__path__.insert(0, p)
    return d


def active() -> list[str]:
    """The modules of MODULES loaded compiled in this process."""
    out = []
    for m in MODULES:
        mod = sys.modules.get(m.replace("/", "."))
        if mod is not None and str(getattr(mod, "__file__", "")).endswith(EXT_SUFFIX):
            out.append(m)
    return out


def build(log=print, jobs: int = 2) -> Path:
    """Compile MODULES into the cache; returns the build's directory."""
    try:
        from Cython.Build import cythonize
        from setuptools import Distribution, Extension
    except ImportError:
        raise RuntimeError("the build needs Cython: pip install cython (and a C compiler, e.g. gcc)") from None
    dest = build_path()
    if find() is not None:
        log(f"already built: {dest}")
        return dest
    sources = _sources()
    with tempfile.TemporaryDirectory(prefix="needlepen-accel-") as tmp:
        work = Path(tmp)
        exts = []
        for name, src in sources.items():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).parent.joinpath("__init__.py").touch()
            shutil.copyfile(src, work / (name + ".py"))
            exts.append(Extension(name.replace("/", "."), [str(work / (name + ".py"))]))
        log(f"compiling {len(exts)} modules with Cython and the C compiler ...")
        cwd = os.getcwd()
        os.chdir(work)
        try:
            modules = cythonize(exts, compiler_directives=DIRECTIVES, quiet=True, nthreads=0)
            dist = Distribution({"ext_modules": modules, "script_args": ["build_ext", "--inplace", "-q"]})
            dist.parse_command_line()
            cmd = dist.get_command_obj("build_ext")
            cmd.parallel = jobs  # type: ignore[attr-defined]
            dist.run_commands()
        except SystemExit as e:                  # distutils reports a failed compile so
            raise RuntimeError(f"the C compile failed ({e}); is a C compiler and Python.h installed?") from None
        finally:
            os.chdir(cwd)
        staging = Path(tempfile.mkdtemp(prefix=".build-", dir=_mkdir(cache_dir())))
        for name in sources:
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(work / (name + EXT_SUFFIX), staging / (name + EXT_SUFFIX))
    # In place at once: a reader finds a whole build or none.
    try:
        staging.rename(dest)
    except OSError:                               # built meanwhile by another process
        shutil.rmtree(staging, ignore_errors=True)
    log(f"built: {dest}")
    return dest


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def clean() -> int:
    """Remove every build; returns how many."""
    d = cache_dir()
    if not d.is_dir():
        return 0
    n = 0
    for sub in d.iterdir():
        if sub.is_dir():
            shutil.rmtree(sub, ignore_errors=True)
            n += 1
    return n
