"""needlepen host tools: the `needlepen` command (sim, deploy, console, log)."""

# First, before anything imports the core: the simulator's compiled hot
# path, when built for these sources (sim/accel.py, `needlepen accel`).
import sim  # noqa: E402,F401
