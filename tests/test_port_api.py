"""What the HALs use of each port, held to tables that say what the port has
(tests/port_api.py), plus the ESP32 board's pins and display.

- Every machine/rp2/esp32/framebuf attribute and call in a port's HAL files,
  with its keyword arguments, is in that port's table; every table entry is
  used.  The stubs cannot tell: they accept Pin.irq(hard=True) for the ESP32.
- The rp2 table against the real port: MicroPython v1.28 on the emulated
  RP2040 (../shared/rp2040-emulator) runs a probe per entry.  The esp32
  table says which port source each entry was checked in.
- The ESP32 pin map fits the module it names (no GPIO37, no PSRAM pin on a
  WROVER, analog inputs on ADC1, strapping pins explained) and
  docs/boards.md carries the caveats.
- The ESP32 display sends whole frames while the view changes every beat,
  one chunk per beat (CPython with a stand-in framebuf, and the unix port of
  MicroPython with the real one).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import json
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import port_api
import pytest

from tools import ROOT, micropython

KIT = ROOT.parent / "shared" / "rp2040-emulator" / "run"


# ---- (a) the HAL source against the tables --------------------------------------------
def problems(port: str, sources: dict[str, str]) -> list[str]:
    table = port_api.TABLES[port]
    uses, untyped = port_api.used(sources)
    out = []
    for (name, called, kws), where in sorted(uses.items()):
        at = ", ".join(where)
        if name not in table:
            out.append(f"{name}{'()' if called else ''} ({at}) is not in the {port} table")
            continue
        allowed = table[name][0]
        if allowed is None and called:
            out.append(f"{name} ({at}) is called; the {port} table has it as an attribute")
        elif allowed is not None and not called:
            out.append(f"{name} ({at}) is read, not called; the {port} table has it as a call")
        elif allowed is not None and set(kws) - set(allowed):
            out.append(f"{name}({', '.join(k + '=' for k in sorted(set(kws) - set(allowed)))}) ({at}): "
                       f"not a keyword the {port} table lists ({', '.join(allowed) or 'none'})")
    ok = port_api.UNTYPED_OK[port]
    for u in untyped:
        file_line, call = u.split(" ", 1)
        if f"{file_line.split(':')[0]} {call}" not in ok:
            out.append(f"{u}: a hardware-sounding call on a receiver the check cannot type "
                       f"(type it, or add it to port_api.UNTYPED_OK with the reason)")
    return out


@pytest.mark.parametrize("port", sorted(port_api.TABLES))
def test_every_hal_use_is_in_the_port_table(port: str) -> None:
    found = problems(port, port_api.hal_sources(port, ROOT))
    assert not found, "\n".join(found)


@pytest.mark.parametrize("port", sorted(port_api.TABLES))
def test_every_table_entry_is_used(port: str) -> None:
    uses, untyped = port_api.used(port_api.hal_sources(port, ROOT))
    names = {name for name, _, _ in uses}
    stale = sorted(set(port_api.TABLES[port]) - names)
    assert not stale, f"{port} table entries no HAL file uses (remove them): {stale}"
    made = {f"{u.split(':')[0]} {u.split(' ', 1)[1]}" for u in untyped}
    gone = sorted(set(port_api.UNTYPED_OK[port]) - made)
    assert not gone, f"port_api.UNTYPED_OK lists calls no longer made (remove them): {gone}"


def edited(port: str, file: str, old: str, new: str) -> dict[str, str]:
    sources = port_api.hal_sources(port, ROOT)
    assert old in sources[file], f"{file} no longer has {old!r}: pick another edit for this test"
    sources[file] = sources[file].replace(old, new, 1)
    return sources


def test_the_check_catches_calls_the_port_does_not_have() -> None:
    # ADC.read() does not exist on rp2 (no MICROPY_PY_MACHINE_ADC_READ); the rp2 stubs have it
    found = problems("rp2", edited("rp2", "rp2.py", ".read_u16()", ".read()"))
    assert any(p.startswith("machine.ADC.read()") for p in found), found
    # a hard timer on the esp32: ValueError from 1.27 (TypeError before); the stubs take it
    found = problems("esp32", edited("esp32", "chip.py", "self.timer.init(", "self.timer.init(hard=True, "))
    assert any(p.startswith("machine.Timer.init(hard=)") for p in found), found
    # Pin.irq(hard=True) on the esp32 (TypeError in every version), through an object built by the HAL
    sources = edited("esp32", "esp32.py", "self._led = 0\n", "self._led = 0\n        self.led_fault.irq("
                     "handler=self._led_irq, trigger=Pin.IRQ_RISING, hard=True)\n")
    found = problems("esp32", sources)
    assert any(p.startswith("machine.Pin.irq(hard=)") for p in found), found
    # a call through a value the HAL passes to its own class (the display's I2C bus)
    found = problems("esp32", edited("esp32", "esp32.py", "self.i2c.writeto(", "self.i2c.readfrom_into("))
    assert any(p.startswith("machine.I2C.readfrom_into()") for p in found), found


# ---- (b) the rp2 table against the real port -----------------------------------------------
def test_every_rp2_probe_uses_the_keywords_its_entry_lists() -> None:
    for name, (kws, _) in port_api.RP2.items():
        if not kws:
            continue
        assert name in port_api.RP2_PROBES, f"{name} takes {kws}: it needs a probe in port_api.RP2_PROBES"
        tree = ast.parse(port_api.RP2_PROBES[name])
        last = name.rsplit(".", 1)[1]
        seen: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                fname = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
                if fname == last:
                    seen |= {k.arg for k in node.keywords if k.arg}
        assert set(kws) <= seen, f"the probe of {name} does not pass {sorted(set(kws) - seen)}"


@pytest.mark.skipif(shutil.which("node") is None or not KIT.exists(),
                    reason=f"needs node and the RP2040 emulator kit at {KIT}")
def test_the_rp2_table_holds_on_the_emulated_rp2040(tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(port_api.rp2_snippet())
    r = subprocess.run([str(KIT), "code", "--files", str(ROOT / "firmware" / "hal" / "pio_tach.py"), f"@{script}"],
                       capture_output=True, text=True, timeout=600)
    lines = [x for x in r.stdout.splitlines() if x.startswith("PROBE ")]
    ok = {x[len("PROBE OK "):] for x in lines if x.startswith("PROBE OK ")}
    failed = [x for x in lines if x.startswith("PROBE FAIL ") and " MUST_FAIL " not in x]
    assert not failed, "\n".join(failed)
    want = set(port_api.RP2) | {f"{n} (call)" for n in port_api.RP2_PROBES}
    assert want <= ok, f"no answer for {sorted(want - ok)}:\n{r.stdout[-3000:]}\n{r.stderr[-2000:]}"
    for name in port_api.RP2_MUST_FAIL:      # the probes can tell a missing method or keyword
        assert f"PROBE FAIL MUST_FAIL {name}:" in r.stdout, f"{name} should fail on rp2:\n{r.stdout[-3000:]}"
    assert "watchdog triggers 0" in r.stdout + r.stderr


def test_each_esp32_entry_names_the_source_it_was_checked_in() -> None:
    for name, (_, how) in port_api.ESP32.items():
        assert ".c" in how or how in port_api.ESP32[name.rsplit(".", 1)[0]][1], (name, how)


# ---- the ESP32 pin map ------------------------------------------------------------------------
def pin_problems(pins: dict[str, int], module: str) -> list[str]:
    pads = port_api.ESP32_MODULE_PADS[module]
    usable = pads - port_api.ESP32_FLASH - port_api.ESP32_UART0
    out = []
    for sig, gpio in sorted(pins.items()):
        if gpio not in usable:
            why = ("not on the module's pads" if gpio not in pads else
                   "the module's flash" if gpio in port_api.ESP32_FLASH else "UART0, the console")
            out.append(f"{sig} on GPIO{gpio}: {why} ({module})")
        if "WROVER" in module and gpio in port_api.ESP32_PSRAM:
            out.append(f"{sig} on GPIO{gpio}: the PSRAM's on a WROVER")
        if sig.startswith("adc_") and gpio not in port_api.ESP32_ADC1:
            out.append(f"{sig} on GPIO{gpio}: not an ADC1 input (ADC2 stops while Wi-Fi runs)")
        if not sig.startswith(("adc_", "tach")) and gpio in port_api.ESP32_INPUT_ONLY:
            out.append(f"{sig} on GPIO{gpio}: input only, no pull-up (an output or a pulled-up input)")
    return out


def test_the_esp32_pins_fit_the_module_the_board_names() -> None:
    mod = importlib.import_module("boards.pen_esp32")
    pins = mod.BOARD["pins"]
    assert mod.MODULE in port_api.ESP32_MODULE_PADS
    assert 37 not in pins.values() and 38 not in pins.values()
    assert not pin_problems(pins, mod.MODULE)
    # the same pins would not do on a WROVER, or with the temperature on GPIO37 (the old map)
    assert {p for p in pin_problems(pins, "ESP32-WROVER") if "PSRAM" in p} == {
        "cart_id0 on GPIO16: the PSRAM's on a WROVER", "cart_id1 on GPIO17: the PSRAM's on a WROVER"}
    assert pin_problems(dict(pins, adc_temperature=37), mod.MODULE) == [
        "adc_temperature on GPIO37: not on the module's pads (ESP32-WROOM-32)"]


def test_the_esp32_caveats_name_the_pins_that_need_them_and_reach_the_doc() -> None:
    mod = importlib.import_module("boards.pen_esp32")
    pins = mod.BOARD["pins"]
    text = " ".join(mod.CAVEATS)
    for gpio in sorted(set(pins.values()) & port_api.ESP32_STRAPPING):
        assert f"GPIO{gpio} " in text or f"GPIO{gpio}," in text or f"GPIO{gpio})" in text, \
            f"strapping pin GPIO{gpio} has no caveat"
    assert "pull-down" in text and all(f"GPIO{pins[s]}" in text for s in ("motor_pwm", "motor_brake",
                                                                           "motor_enable", "act_a", "act_b"))
    assert mod.MODULE in text and "WROVER" in text and "GPIO37" in text
    doc = (ROOT / "docs" / "boards.md").read_text()
    section = doc.split("## pen-esp32")[1].split("\n## ")[0]
    assert "### Caveats" in section
    for note in mod.CAVEATS:
        assert f"- {note}" in section


# ---- the vendored driver and the deploy ------------------------------------------------------
def test_the_vendored_ssd1306_is_upstream_unchanged() -> None:
    text = (ROOT / "firmware" / "hal" / "ssd1306.py").read_bytes()
    marker = b"unchanged, from the next line on ----\n"
    body = text[text.index(marker) + len(marker):]
    blob = hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()
    assert blob == "37ad682de94a11687c6afdac8cdc4dc88eb2b46c"     # micropython-lib, as the header says
    assert blob.encode() in text[:text.index(marker)]
    assert b"MIT License" in text[:text.index(marker)]


def test_the_esp32_pen_gets_the_driver_and_the_rp2040_pen_does_not() -> None:
    from host_tools.deploy import stage
    assert "hal/ssd1306.py" in stage("pen_esp32")
    assert "hal/ssd1306.py" not in stage("pen_rp2040")


# ---- the ESP32 display -------------------------------------------------------------------------------
class _FrameBuffer:
    """framebuf.FrameBuffer for CPython: MONO_VLSB-like bytes that depend on
    the text (a glyph off a page boundary touches two pages, as on the pen)."""

    def __init__(self, buf: Any, width: int, height: int, fmt: int) -> None:
        self._fb, self._fw = buf, width

    def fill(self, c: int) -> None:
        self._fb[:] = bytes([0xFF if c else 0]) * len(self._fb)

    def text(self, s: str, x: int, y: int, c: int = 1) -> None:
        for k, ch in enumerate(s):
            for j in range(8):
                col = x + 8 * k + j
                if col < self._fw:
                    self._fb[y // 8 * self._fw + col] = (ord(ch) * 3 + j) & 0xFF
                    if y % 8 and (y // 8 + 1) * self._fw + col < len(self._fb):
                        self._fb[(y // 8 + 1) * self._fw + col] = (ord(ch) + 5 * j) & 0xFF


@pytest.fixture
def esp32_hal(monkeypatch: pytest.MonkeyPatch) -> Any:
    """hal.esp32 imported on CPython with stand-ins for machine, esp32, framebuf."""
    fake_machine = types.ModuleType("machine")
    for cls in ("ADC", "I2C", "Pin", "PWM", "WDT", "Timer", "RTC"):
        setattr(fake_machine, cls, type(cls, (), {}))
    fake_fb = types.ModuleType("framebuf")
    fake_fb.FrameBuffer = _FrameBuffer          # type: ignore[attr-defined]
    fake_fb.MONO_VLSB = 0                       # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "machine", fake_machine)
    monkeypatch.setitem(sys.modules, "esp32", types.ModuleType("esp32"))
    monkeypatch.setitem(sys.modules, "framebuf", fake_fb)
    for m in ("hal.esp32", "hal.chip", "hal.ssd1306"):
        monkeypatch.delitem(sys.modules, m, raising=False)
    mod = importlib.import_module("hal.esp32")
    yield mod
    for m in ("hal.esp32", "hal.chip", "hal.ssd1306"):       # not left behind with the stand-ins
        sys.modules.pop(m, None)


def check_frames(r: dict[str, Any], beats_changing: int, frame_beats: int) -> None:
    frames = r["frames"]
    size = r["ram_size"]
    assert len(frames) >= beats_changing // frame_beats - 1, frames
    for start, sent, whole in frames:
        assert sent == size, f"the frame started at beat {start} sent {sent} of {size} bytes: restarted mid-push"
        assert whole, f"the frame started at beat {start} did not reach the display RAM as drawn"
    starts = [f[0] for f in frames]
    assert all(b - a >= frame_beats for a, b in zip(starts, starts[1:])), starts
    # one write per beat at most: a 32-byte chunk (34 bytes with the address and control bytes) or the window
    assert r["max_writes_per_beat"] == 1 and r["max_bytes_per_beat"] <= 34, r
    assert r["end_matches"] and r["shows_final_view"]


def test_the_display_sends_whole_frames_while_the_view_changes_every_beat(esp32_hal: Any) -> None:
    from pen.ui import View
    bus = port_api.FakeSSD1306()
    display = esp32_hal.Display(128, 32, bus, 60)
    assert bus.ram == bytes(512) and bus.log          # the driver's init: a blank frame
    r = port_api.exercise(display, View(), beats=400, change_until=300)
    check_frames(r, 300, esp32_hal.FRAME_BEATS)
    assert any(b for b in bus.ram[384:]), "page 3 never got content"


def test_the_display_on_micropython(tmp_path: Path) -> None:
    # the real framebuf and the vendored driver on the unix port, with stand-ins for machine and esp32
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    (fakes / "machine.py").write_text("".join(f"class {c}:\n    pass\n" for c in
                                              ("ADC", "I2C", "Pin", "PWM", "WDT", "Timer", "RTC")))
    (fakes / "esp32.py").write_text("")
    (tmp_path / "run.py").write_text(
        "import json, port_api\nfrom hal.esp32 import Display, FRAME_BEATS\nfrom pen.ui import View\n"
        "d = Display(128, 32, port_api.FakeSSD1306(), 60)\n"
        "r = port_api.exercise(d, View(), 400, 300)\nr['frame_beats'] = FRAME_BEATS\n"
        "print('RESULT ' + json.dumps(r))\n")
    r = micropython(str(tmp_path / "run.py"), path=(str(fakes), str(ROOT / "tests"), str(ROOT / "firmware"),
                                                     str(ROOT)))
    line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, r.stdout[-3000:] + r.stderr[-3000:]
    result = json.loads(line[len("RESULT "):])
    check_frames(result, 300, result["frame_beats"])
