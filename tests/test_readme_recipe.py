"""The README's "mpremote alone" recipe, run as written (issue 12, case 8)
against a virtual pen: the port, the board and the pen id substituted."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from vpen import needlepen, status_when_up, virtual_pen_on_a_pty

from tools import ROOT


def recipe() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("The same with mpremote alone", 1)[1].split("\n\n", 2)[1]
    lines = [re.sub(r"\s+#.*$", "", x.strip()) for x in block.splitlines()]
    return [x for x in lines if x]


def test_the_readme_mpremote_recipe_deploys_a_pen(tmp_path: Path) -> None:
    steps = recipe()
    assert any("remove_firmware" in s for s in steps) and any(s.startswith("cd ") for s in steps)
    with virtual_pen_on_a_pty(tmp_path / "flash") as port:
        pen_id = json.loads(needlepen("status", "--port", port, "--json").stdout)["pen_id"]
        bindir = os.path.dirname(sys.executable)
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"])
        script = "set -e\n" + "\n".join(
            s.replace("/dev/ttyACM0", port).replace("pen_rp2040", "virtual").replace("PEN_ID", pen_id)
            for s in steps)
        r = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, script + "\n" + r.stdout + r.stderr
        assert "removed pen" in r.stdout
        # Provisioned by hand: the state the pen had before its key is not
        # signed, so it boots most restrictive (README), until cleared.
        s = status_when_up(port)
        assert s["faults"] == ["settings"] and s["duty"] == 0, s
        r = needlepen("console", "--port", port, "--json", stdin="clear\nstatus\n")
        rows = {x["command"]: x for x in map(json.loads, r.stdout.splitlines()) if "command" in x}
        assert rows["status"]["answer"]["faults"] == []
        manifest = json.loads((tmp_path / "flash" / "manifest.json").read_text())
        assert manifest["mpy"] is True and "mac" in manifest
        assert (tmp_path / "flash" / "pen" / "tick.mpy").exists()
        assert not (tmp_path / "flash" / "pen" / "tick.py").exists()     # stale sources gone
