# What each HAL may call in machine, rp2, esp32 and framebuf, per port (the
# tables below, the one place this is written down), and the tools that hold
# the HAL source to them (tests/test_port_api.py):
#
# - used(port): every machine/rp2/esp32/framebuf attribute and call the
#   port's HAL files (host_tools.deploy._HAL_FILES) make, with the keyword
#   arguments, found with `ast` and a small type inference (constructors,
#   self attributes, locals, return values, arguments passed to the HAL's
#   own classes and methods, callbacks);
# - RP2_PROBES: code that exercises each rp2 entry on the real port (the
#   emulated RP2040 of ../shared/rp2040-emulator runs MicroPython v1.28);
# - the ESP32 module facts behind boards/pen_esp32.py's pin choice;
# - FakeSSD1306: an I2C bus with an SSD1306's display RAM behind it, for the
#   display test; portable (the test runs it on the unix port too), so no
#   typing imports and `ast` only inside the functions that use it.
#
# The stubs (tests/test_typecheck.py) know signatures but not ports: the
# esp32 stubs accept Pin.irq(hard=True) and Timer.init(hard=True), both of
# which fail on the ESP32.  These tables say what each port really takes.

# ---- the tables: name -> (keyword arguments used, or None for an attribute
#      that is read, not called; how the entry was checked) ------------------
EMU = "emulated RP2040, MicroPython v1.28 rp2 (RP2_PROBES)"

RP2 = {  # type: dict[str, tuple[tuple[str, ...] | None, str]]
    "machine.Pin": (("value",), EMU),
    "machine.Pin.IN": (None, EMU),
    "machine.Pin.OUT": (None, EMU),
    "machine.Pin.PULL_UP": (None, EMU),
    "machine.Pin.IRQ_RISING": (None, EMU),
    "machine.Pin.value": ((), EMU),
    "machine.Pin.irq": (("handler", "trigger", "hard"), EMU + "; hard=True: the irq tachometer (hal.chip.IrqTach)"),
    "machine.PWM": (("freq", "duty_u16"), EMU),
    "machine.PWM.duty_u16": ((), EMU),
    "machine.ADC": ((), EMU),
    "machine.ADC.read_u16": ((), EMU + "; rp2 has no ADC.read()"),
    "machine.WDT": (("timeout",), EMU + "; max 8388 ms; stopped by clearing WATCHDOG CTRL.ENABLE (hal.rp2)"),
    "machine.WDT.feed": ((), EMU),
    "machine.Timer": ((), EMU + "; id -1: a virtual (alarm pool) timer"),
    "machine.Timer.PERIODIC": (None, EMU),
    "machine.Timer.init": (("mode", "period", "freq", "callback", "hard"), EMU + "; hard=True: the tick's timer"),
    "machine.Timer.deinit": ((), EMU),
    "machine.mem32": (None, EMU + "; watchdog SCRATCH0/SCRATCH4, CTRL"),
    "machine.reset": ((), EMU + " (present; not called)"),
    "machine.idle": ((), EMU + "; HAL.halt() after a crash, waiting for the watchdog"),
    "machine.reset_cause": ((), EMU),
    "machine.WDT_RESET": (None, EMU),
    "machine.PWRON_RESET": (None, EMU),
    "machine.unique_id": ((), EMU),
    "rp2.asm_pio": ((), EMU + "; assembles hal/pio_tach.py's program"),
    "rp2.StateMachine": (("freq", "in_base", "jmp_pin"), EMU + "; with hal/pio_tach.py's program"),
    "rp2.StateMachine.active": ((), EMU),
    "rp2.StateMachine.rx_fifo": ((), EMU),
    "rp2.StateMachine.get": ((), EMU),
}

# No emulator for the ESP32: each entry was read in the port's source,
# github.com/micropython/micropython at v1.26.0, v1.27.0, v1.28.0 and master
# (v1.29.0-preview-731, 1c3c2011): ports/esp32/*.c, extmod/*.c.
ESP32 = {  # type: dict[str, tuple[tuple[str, ...] | None, str]]
    "machine.Pin": (("value",), "ports/esp32/machine_pin.c (value= in init)"),
    "machine.Pin.IN": (None, "machine_pin.c"),
    "machine.Pin.OUT": (None, "machine_pin.c"),
    "machine.Pin.PULL_UP": (None, "machine_pin.c"),
    "machine.Pin.IRQ_RISING": (None, "machine_pin.c"),
    "machine.Pin.value": ((), "machine_pin.c"),
    "machine.Pin.irq": (("handler", "trigger"),
                        "machine_pin.c machine_pin_irq: handler, trigger, wake; no hard= in any version "
                        "1.24..master (TypeError): the handler is always scheduled (soft)"),
    "machine.PWM": (("freq", "duty_u16"), "extmod/machine_pwm.c, ports/esp32/machine_pwm.c"),
    "machine.PWM.duty_u16": ((), "extmod/machine_pwm.c"),
    "machine.ADC": ((), "ports/esp32/machine_adc.c"),
    "machine.ADC.ATTN_11DB": (None, "machine_adc.c"),
    "machine.ADC.atten": ((), "machine_adc.c"),
    "machine.ADC.read_u16": ((), "extmod/machine_adc.c"),
    "machine.I2C": (("sda", "scl", "freq"), "ports/esp32/machine_i2c.c: id, scl, sda, freq, timeout"),
    "machine.I2C.writeto": ((), "extmod/machine_i2c.c (hal.esp32.Display and the vendored hal/ssd1306.py)"),
    "machine.I2C.writevto": ((), "extmod/machine_i2c.c (hal/ssd1306.py write_data)"),
    "machine.WDT": (("timeout",), "extmod/machine_wdt.c, ports/esp32/machine_wdt.c: the ESP-IDF task watchdog; "
                                  "no deinit: cannot be stopped, survives a soft reset"),
    "machine.WDT.feed": ((), "machine_wdt.c"),
    "machine.idle": ((), "modmachine.c (machine_idle: taskYIELD)"),
    "machine.Timer": ((), "ports/esp32/machine_timer.c: hardware timers 0..3"),
    "machine.Timer.PERIODIC": (None, "machine_timer.c"),
    "machine.Timer.init": (("mode", "period", "callback"),
                           "machine_timer.c: no hard timers; hard=True raises ValueError from 1.27, "
                           "TypeError (unknown keyword) before"),
    "machine.RTC": ((), "ports/esp32/machine_rtc.c"),
    "machine.RTC.memory": ((), "machine_rtc.c: RTC_NOINIT_ATTR, survives machine.reset(), watchdog and soft "
                               "resets (not a power cycle)"),
    "machine.reset": ((), "extmod/modmachine.c"),
    "machine.reset_cause": ((), "extmod/modmachine.c, ports/esp32/modmachine.c"),
    "machine.WDT_RESET": (None, "ports/esp32/modmachine.c"),
    "machine.PWRON_RESET": (None, "ports/esp32/modmachine.c"),
    "machine.unique_id": ((), "extmod/modmachine.c"),
    "esp32.PCNT": (("pin", "rising", "filter"),
                   "ports/esp32/esp32_pcnt.c, first in 1.26 (absent in 1.25); filter: 0..1023 APB cycles, "
                   "ValueError above"),
    "esp32.PCNT.INCREMENT": (None, "esp32_pcnt.c"),
    "esp32.PCNT.start": ((), "esp32_pcnt.c"),
    "esp32.PCNT.value": ((), "esp32_pcnt.c: int16_t, a small int (signed 16-bit), no allocation"),
    "framebuf.FrameBuffer": ((), "extmod/modframebuf.c (enabled on ESP32_GENERIC); hal/ssd1306.py's base"),
    "framebuf.MONO_VLSB": (None, "modframebuf.c"),
    "framebuf.FrameBuffer.fill": ((), "modframebuf.c"),
    "framebuf.FrameBuffer.text": ((), "modframebuf.c"),
}

TABLES = {"rp2": RP2, "esp32": ESP32}
MODULES = ("machine", "rp2", "esp32", "framebuf")     # what the tables cover
# classes of the HAL files a pen never builds: not scanned
NOT_USED = {"ssd1306.py": ("SSD1306_SPI",)}           # the pen's display is on I2C
# calls of hardware-sounding methods on receivers the inference cannot type,
# known to be harmless ("file receiver.method": why); any other fails the test
UNTYPED_OK = {
    "rp2": {"rp2.py board.get": "the board dict"},
    "esp32": {"chip.py t.deinit": "MachineHAL.stop_ticker: ticker_timer stays None on a port without a "
                                  "hard timer (esp32)",
              "chip.py pin.irq": "hal.chip.IrqTach (hard=True): the esp32 HAL does not build one"},
}

# ---- code exercising each rp2 entry on the real port ------------------------
# Every entry is also looked up by name (hasattr along its path).  Each
# probe must call its entry with every keyword the table lists for it.
RP2_PROBES = {
    "machine.Pin": "machine.Pin(2, machine.Pin.OUT, value=0)\nmachine.Pin(3, machine.Pin.IN, machine.Pin.PULL_UP)",
    "machine.Pin.value": ("p = machine.Pin(2, machine.Pin.OUT, value=0)\np.value(1)\n"
                          "assert machine.Pin(3, machine.Pin.IN, machine.Pin.PULL_UP).value() in (0, 1)"),
    "machine.Pin.irq": ("p = machine.Pin(3, machine.Pin.IN, machine.Pin.PULL_UP)\n"
                        "p.irq(handler=lambda p: None, trigger=machine.Pin.IRQ_RISING, hard=True)\n"
                        "p.irq(handler=None)"),
    "machine.PWM": "w = machine.PWM(machine.Pin(15), freq=20000, duty_u16=0)\nw.deinit()",
    "machine.PWM.duty_u16": "w = machine.PWM(machine.Pin(15), freq=20000, duty_u16=0)\nw.duty_u16(1000)\nw.deinit()",
    "machine.ADC": "machine.ADC(machine.Pin(26))",
    "machine.ADC.read_u16": "v = machine.ADC(machine.Pin(26)).read_u16()\nassert 0 <= v <= 65535",
    # armed for 8 s and stopped at once, as hal.rp2 does in maintenance
    "machine.WDT": "w = machine.WDT(timeout=8000)\nw.feed()\nmachine.mem32[0x40058000 + 0x3000] = 1 << 30",
    "machine.WDT.feed": "pass  # (with machine.WDT)",
    "machine.idle": "machine.idle()",
    "machine.Timer": "machine.Timer(-1).deinit()",
    "machine.Timer.init": ("t = machine.Timer(-1)\n"
                           "t.init(mode=machine.Timer.PERIODIC, period=1, callback=lambda t: None, hard=True)\n"
                           "t.deinit()\n"
                           "t.init(mode=machine.Timer.PERIODIC, freq=1000, callback=lambda t: None, hard=True)\n"
                           "t.deinit()"),
    "machine.mem32": "machine.mem32[0x40058000 + 0x0C]",
    "machine.reset_cause": "assert machine.reset_cause() in (machine.PWRON_RESET, machine.WDT_RESET, 0, 1, 2, 3)",
    "machine.unique_id": "assert len(machine.unique_id()) == 8",
    "rp2.StateMachine": ("import pio_tach\n"
                         "sm = rp2.StateMachine(0, pio_tach.tach_period, freq=pio_tach.PIO_FREQ,"
                         " in_base=machine.Pin(5), jmp_pin=machine.Pin(5))\n"
                         "sm.active(1)\nsm.rx_fifo()\nsm.active(0)"),
    "rp2.StateMachine.get": ("@rp2.asm_pio()\ndef _push():\n    set(x, 5)\n    mov(isr, x)\n    push(block)\n"
                             "sm = rp2.StateMachine(1, _push, freq=2000)\nsm.active(1)\nv = sm.get()\n"
                             "sm.active(0)\nassert v == 5, v"),
}
# must FAIL on the rp2 port: shows the check can tell
RP2_MUST_FAIL = {
    "machine.ADC.read": "machine.ADC(machine.Pin(26)).read()",
    "machine.Pin.irq(wake=)": "machine.Pin(3).irq(handler=lambda p: None, trigger=machine.Pin.IRQ_RISING, wake=1)",
}


def rp2_snippet():
    """Python for the emulated RP2040: one line per entry, OK or FAIL."""
    out = ["import machine, rp2", "def _look(path):", "    parts = path.split('.')",
           "    o = __import__(parts[0])", "    for p in parts[1:]:", "        o = getattr(o, p)"]
    cases = [(name, "_look(%r)" % name) for name in sorted(RP2)]
    cases += [(name + " (call)", code) for name, code in sorted(RP2_PROBES.items())]
    cases += [("MUST_FAIL " + name, code) for name, code in sorted(RP2_MUST_FAIL.items())]
    for label, code in cases:
        out.append("try:")
        out += ["    " + line for line in code.split("\n")]
        out.append("    print('PROBE OK %s')" % label)
        out.append("except Exception as e:")
        out.append("    print('PROBE FAIL %s:', repr(e))" % label)
    return "\n".join(out) + "\n"


# ---- ESP32 modules: which GPIOs reach the pads -------------------------------
# ESP32-WROOM-32/-32D/-32E datasheets (pin definitions), ESP32 datasheet
# (strapping pins, ADC1 channels, input-only GPIOs), ESP32-WROVER-E
# datasheet (GPIO16/17: the PSRAM's, not on the pads).
ESP32_FLASH = {6, 7, 8, 9, 10, 11}                    # the module's SPI flash
ESP32_UART0 = {1, 3}                                  # console: the pen's serial link
WROOM_32_PADS = {0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23, 25, 26, 27, 32, 33, 34, 35, 36, 39}
ESP32_MODULE_PADS = {"ESP32-WROOM-32": WROOM_32_PADS, "ESP32-WROVER": WROOM_32_PADS - {16, 17}}
ESP32_PSRAM = {16, 17}                                # on WROVER modules
ESP32_ADC1 = {36: 0, 37: 1, 38: 2, 39: 3, 32: 4, 33: 5, 34: 6, 35: 7}
ESP32_INPUT_ONLY = {34, 35, 36, 37, 38, 39}           # and no internal pulls
ESP32_STRAPPING = {0, 2, 5, 12, 15}


# ---- an SSD1306 on an I2C bus, for the display test ----------------------------
_ARGS = {0x20: 1, 0x21: 2, 0x22: 2, 0x81: 1, 0x8D: 1, 0xA8: 1, 0xAD: 1, 0xD3: 1, 0xD5: 1, 0xD9: 1, 0xDA: 1,
         0xDB: 1}


class FakeSSD1306:
    """machine.I2C's writeto/writevto with an SSD1306 behind them: control
    bytes 0x80 (one command), 0x00 (commands), 0x40 (data); commands with
    arguments may span writes; display RAM in horizontal addressing mode
    within the column/page window.  Logs every write as (beat, kind, bytes
    on the bus incl. the address byte, window after it)."""

    def __init__(self, width=128, pages=4):
        self.width = width
        self.pages = pages
        self.ram = bytearray(width * pages)
        self.window = (0, width - 1, 0, pages - 1)
        self.col = 0
        self.page = 0
        self.pending = []           # a command waiting for its arguments
        self.log = []
        self.beat = 0
        self.windows_set = 0        # address windows set (0x21 + 0x22 pairs seen)

    def writeto(self, addr, buf):
        self._transfer(bytes(buf))

    def writevto(self, addr, vector):
        b = b""
        for part in vector:
            b += bytes(part)
        self._transfer(b)

    def _transfer(self, b):
        ctrl = b[0]
        if ctrl == 0x40:
            for v in b[1:]:
                self._data(v)
            kind = "data"
        elif ctrl in (0x00, 0x80):
            for v in b[1:]:
                self._command(v)
            kind = "cmd"
        else:
            raise ValueError("bad control byte 0x%02x" % ctrl)
        self.log.append((self.beat, kind, len(b) + 1, len(b) - 1))

    def _command(self, v):
        if self.pending:
            self.pending.append(v)
        elif v in _ARGS:
            self.pending = [v]
        else:
            return
        c = self.pending[0]
        if len(self.pending) <= _ARGS[c]:
            return
        args = self.pending[1:]
        self.pending = []
        c0, c1, p0, p1 = self.window
        if c == 0x21:
            self.window = (args[0], args[1], p0, p1)
            self.col = args[0]
        elif c == 0x22:
            self.window = (c0, c1, args[0], args[1])
            self.page = args[0]
            self.windows_set += 1
        elif c == 0x20 and args[0] != 0:
            raise ValueError("only horizontal addressing is modelled")

    def _data(self, v):
        c0, c1, p0, p1 = self.window
        self.ram[self.page * self.width + self.col] = v
        self.col += 1
        if self.col > c1:
            self.col = c0
            self.page += 1
            if self.page > p1:
                self.page = p0


def exercise(display, view, beats, change_until):
    """Step `display` (a hal.esp32.Display on a FakeSSD1306) once per beat,
    changing `view` (a pen.ui.View) every beat until `change_until`.  What
    went to the glass, as plain data: frames (beat started, data bytes sent,
    whether the display RAM equals the frame as drawn once the frame is
    complete), the most bytes and writes of any beat, whether the display
    shows the last view at the end."""
    bus = display.i2c
    bus.log = []
    frames = []
    current = None
    view.mode = "running"
    view.zone = "cheeks"
    for beat in range(beats):
        bus.beat = beat
        if beat < change_until:                 # what changes every beat while running
            view.rate_sps = 100 + beat % 37
            view.session_s = beat
            view.depth_um = 500 + (beat * 7) % 900
            view.level = 1 + beat % 6
        before = len(bus.log)
        started = bus.windows_set
        display.step(view)
        if bus.windows_set != started:
            current = {"beat": beat, "drawn": bytes(display.buffer), "sent": 0, "whole": False}
            frames.append(current)
        for entry in bus.log[before:]:
            if entry[1] == "data" and current is not None:
                current["sent"] += entry[3]
                if current["sent"] == len(bus.ram):
                    current["whole"] = bytes(bus.ram) == current["drawn"]
    per_beat = {}  # type: dict[int, int]
    writes = {}  # type: dict[int, int]
    for entry in bus.log:
        per_beat[entry[0]] = per_beat.get(entry[0], 0) + entry[2]
        writes[entry[0]] = writes.get(entry[0], 0) + 1
    return {
        "frames": [(f["beat"], f["sent"], f["whole"]) for f in frames],
        "max_bytes_per_beat": max(per_beat.values()) if per_beat else 0,
        "max_writes_per_beat": max(writes.values()) if writes else 0,
        "end_matches": bytes(bus.ram) == bytes(display.buffer),     # the glass shows the buffer
        "shows_final_view": display.drawn == view.as_dict(),        # and the buffer the last view
        "ram_size": len(bus.ram),
    }


# ---- the HAL source: what it uses (CPython only) ------------------------------------
def hal_sources(port, root):
    """{file name: source} of the HAL files deploy gives the port."""
    from host_tools.deploy import _HAL_FILES
    return {name: (root / "firmware" / "hal" / name).read_text() for name in _HAL_FILES[port]}


def used(sources):
    """The machine/rp2/esp32/framebuf uses in `sources` ({file name: source}):
    {(name, called, keywords): [where, ...]} with called False for an
    attribute only read, keywords a sorted tuple; and the calls of
    hardware-sounding methods on receivers the inference could not type
    (["file:line receiver.method"], for the test to judge)."""
    return _Scan(sources).run()


class _Scan:
    def __init__(self, sources):
        import ast
        self.ast = ast
        self.trees = {name: ast.parse(src, name) for name, src in sources.items()}
        self.classes = {}  # type: dict[str, tuple]  # name -> (file, ClassDef)
        self.funcs = {}  # type: dict[tuple, object]  # (file, name) -> FunctionDef at module level
        self.env = {}  # type: dict[str, dict[str, tuple]]  # file -> {name: type} (imports, classes...)
        self.attrs = {}  # type: dict[str, object]  # self attribute name -> type (or "?" known, untyped)
        self.params = {}  # type: dict[tuple, tuple]  # (id(FunctionDef), param name) -> type
        self.returns = {}  # type: dict[int, tuple]  # id(FunctionDef) -> type
        self.uses = {}  # type: dict[tuple, list[str]]
        self.unknown = set()  # type: set[str]
        self.changed = False
        for name, tree in self.trees.items():
            env = self.env[name] = {}
            for node in tree.body:
                if isinstance(node, ast.Import):
                    for a in node.names:
                        if a.name in MODULES:
                            env[a.asname or a.name] = ("mod", a.name)
                elif isinstance(node, ast.ImportFrom):
                    for a in node.names:
                        if node.module in MODULES:
                            env[a.asname or a.name] = ("ext", node.module + "." + a.name)
                        elif node.module == "hal" and a.name + ".py" in self.trees:
                            env[a.asname or a.name] = ("pmod", a.name + ".py")
                        elif node.module and node.module.startswith("hal.") and \
                                node.module[4:] + ".py" in self.trees:
                            env[a.asname or a.name] = ("pname", node.module[4:] + ".py", a.name)
                elif isinstance(node, ast.ClassDef) and node.name not in NOT_USED.get(name, ()):
                    self.classes[node.name] = (name, node)
                    env[node.name] = ("cls", node.name)
                elif isinstance(node, ast.FunctionDef):
                    self.funcs[(name, node.name)] = node
                    env[node.name] = ("func", name, node.name)

    # -- driving ---------------------------------------------------------------
    def run(self):
        for _ in range(10):                        # to a fixed point
            self.changed = False
            self.uses = {}
            self.unknown = set()
            for name, tree in self.trees.items():
                for node in tree.body:
                    if isinstance(node, self.ast.FunctionDef):
                        self.function(name, node, None)
                    elif isinstance(node, self.ast.ClassDef) and node.name in self.classes:
                        for item in node.body:
                            if isinstance(item, self.ast.FunctionDef):
                                self.function(name, item, node.name)
                            elif isinstance(item, self.ast.Assign):
                                for t in item.targets:
                                    if isinstance(t, self.ast.Name):
                                        self.learn_attr(t.id, None)
            if not self.changed:
                return self.uses, sorted(self.unknown)
        raise AssertionError("the inference did not settle")

    def function(self, file, fn, cls):
        ast = self.ast
        scope = {"file": file, "cls": cls, "locals": {}, "fn": fn}
        args = [a.arg for a in fn.args.args]
        static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)
        if cls is not None and not static and args:
            scope["locals"][args[0]] = ("obj", cls)
            args = args[1:]
        for a in args:
            t = self.params.get((id(fn), a))
            if t is not None:
                scope["locals"][a] = t
        for node in ast.walk(fn):                   # imports inside the function
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in MODULES:
                        scope["locals"][a.asname or a.name] = ("mod", a.name)
            elif isinstance(node, ast.ImportFrom):
                for a in node.names:
                    if node.module in MODULES:
                        scope["locals"][a.asname or a.name] = ("ext", node.module + "." + a.name)
                    elif node.module and node.module.startswith("hal.") and node.module[4:] + ".py" in self.env:
                        scope["locals"][a.asname or a.name] = self.env[node.module[4:] + ".py"].get(a.name)
        parents = {}
        for node in ast.walk(fn):
            for child in ast.iter_child_nodes(node):
                parents[id(child)] = node
        for _ in range(3):                          # locals assigned after their first use
            for node in ast.walk(fn):
                if isinstance(node, ast.Assign):
                    t = self.infer(node.value, scope)
                    for target in node.targets:
                        self.assign(target, t, scope)
        for node in ast.walk(fn):
            if isinstance(node, ast.Call):
                self.call(node, scope)
            elif isinstance(node, ast.Attribute):
                parent = parents.get(id(node))
                if isinstance(parent, ast.Attribute):
                    continue
                if isinstance(parent, ast.Call) and parent.func is node:
                    continue
                t = self.infer(node, scope)
                if t is not None and t[0] == "ext":
                    self.record(t[1], False, (), scope, node)
            elif isinstance(node, ast.Return) and node.value is not None:
                t = self.infer(node.value, scope)
                if t is not None and self.returns.get(id(fn)) is None:
                    self.returns[id(fn)] = t
                    self.changed = True
        for d in fn.decorator_list:                 # @rp2.asm_pio()
            if isinstance(d, ast.Call):
                self.call(d, scope)

    def assign(self, target, t, scope):
        ast = self.ast
        if isinstance(target, ast.Name):
            if t is not None and scope["locals"].get(target.id) is None:
                scope["locals"][target.id] = t
            elif target.id not in scope["locals"]:
                scope["locals"][target.id] = None
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            if scope["locals"].get(target.value.id, (None,))[0] == "obj":
                self.learn_attr(target.attr, t)
        elif isinstance(target, ast.Tuple):
            for el in target.elts:
                self.assign(el, None, scope)

    def learn_attr(self, name, t):
        old = self.attrs.get(name)
        if t is None:
            if name not in self.attrs:
                self.attrs[name] = "?"
                self.changed = True
            return
        if old is None or old == "?":
            self.attrs[name] = t
            self.changed = True
        elif old != t:
            raise AssertionError("self.%s is given both %r and %r: rename one" % (name, old, t))

    def record(self, name, called, kws, scope, node):
        key = (name, called, tuple(sorted(kws)))
        where = "%s:%d" % (scope["file"], node.lineno)
        self.uses.setdefault(key, [])
        if where not in self.uses[key]:
            self.uses[key].append(where)

    # -- types -----------------------------------------------------------------------
    def chain(self, cls):
        """The project classes cls derives from (itself first), and the
        external base at the end of the chain if any."""
        out, ext = [], None
        while cls is not None and cls in self.classes and cls not in out:
            out.append(cls)
            node = self.classes[cls][1]
            nxt = None
            if node.bases:
                bt = self.infer(node.bases[0], {"file": self.classes[cls][0], "cls": None, "locals": {}})
                if bt is not None and bt[0] == "cls":
                    nxt = bt[1]
                elif bt is not None and bt[0] == "ext":
                    ext = bt[1]
            cls = nxt
        return out, ext

    def method(self, cls, name):
        """The method `name` of project class `cls`: its own or inherited,
        else a subclass's (self.write_cmd() in ssd1306.SSD1306)."""
        classes, _ = self.chain(cls)
        subclasses = [c for c in self.classes if c not in classes and cls in self.chain(c)[0]]
        for c in classes + sorted(subclasses):
            for item in self.classes[c][1].body:
                if isinstance(item, self.ast.FunctionDef) and item.name == name:
                    return c, item
        return None, None

    def infer(self, node, scope):
        ast = self.ast
        if isinstance(node, ast.Name):
            if node.id in scope["locals"]:
                return scope["locals"][node.id]
            t = self.env[scope["file"]].get(node.id)
            if t is not None and t[0] == "pname":
                return self.env[t[1]].get(t[2])
            return t
        if isinstance(node, ast.Attribute):
            base = self.infer(node.value, scope)
            if base is None:
                return None
            kind = base[0]
            if kind == "mod":
                return ("ext", base[1] + "." + node.attr)
            if kind in ("ext", "inst"):
                return ("ext", base[1] + "." + node.attr)
            if kind == "pmod":
                return self.env[base[1]].get(node.attr)
            if kind in ("obj", "cls"):
                owner, fn = self.method(base[1], node.attr)
                if fn is not None:
                    return ("method", owner, fn)
                if node.attr in self.attrs:
                    a = self.attrs[node.attr]
                    return None if a == "?" else a
                _, ext = self.chain(base[1])
                if ext is not None:
                    return ("ext", ext + "." + node.attr)
            return None
        if isinstance(node, ast.Call):
            return self.call_type(node, scope)
        if isinstance(node, ast.Subscript):
            base = self.infer(node.value, scope)
            return base[1] if base is not None and base[0] == "list" else None
        if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
            return ("list", self.infer(node.elts[0], scope))
        if isinstance(node, ast.ListComp):
            return ("list", self.infer(node.elt, scope))
        if isinstance(node, ast.IfExp):
            return self.infer(node.body, scope) or self.infer(node.orelse, scope)
        return None

    def call_type(self, node, scope):
        f = self.infer(node.func, scope)
        if f is None:
            return None
        if f[0] == "ext":
            last = f[1].rsplit(".", 1)[1]
            return ("inst", f[1]) if last[:1].isupper() else None
        if f[0] == "cls":
            return ("obj", f[1])
        if f[0] == "method":
            return self.returns.get(id(f[2]))
        if f[0] == "func":
            return self.returns.get(id(self.funcs[(f[1], f[2])]))
        return None

    # -- calls: record them, pass argument types on ---------------------------------
    def call(self, node, scope):
        ast = self.ast
        kws = [k.arg or "**" for k in node.keywords]
        func = node.func
        # super().__init__(...): the base class's constructor
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call) and \
                isinstance(func.value.func, ast.Name) and func.value.func.id == "super":
            cls = scope["cls"]
            classes, ext = self.chain(cls)
            if len(classes) > 1:
                owner, fn = self.method(classes[1], func.attr)
                if fn is not None:
                    self.bind(fn, True, node, scope)
            elif ext is not None and func.attr == "__init__":
                self.record(ext, True, kws, scope, node)
            return
        f = self.infer(func, scope)
        if f is None:
            if isinstance(func, ast.Attribute) and func.attr in _HARDWARE_METHODS:
                self.unknown.add("%s:%d %s.%s" % (scope["file"], node.lineno, ast.unparse(func.value), func.attr))
            return
        if f[0] == "ext":
            self.record(f[1], True, kws, scope, node)
            receiver = self.infer(func.value, scope) if isinstance(func, ast.Attribute) else None
            for k in node.keywords:                 # a callback gets the object it is registered on
                if k.arg in ("callback", "handler") and receiver is not None and receiver[0] == "inst":
                    cb = self.infer(k.value, scope)
                    if cb is not None and cb[0] == "method":
                        self.bind_first(cb[2], receiver)
        elif f[0] == "cls":
            owner, fn = self.method(f[1], "__init__")
            if fn is not None:
                self.bind(fn, True, node, scope)
            else:
                _, ext = self.chain(f[1])
                if ext is not None:
                    self.record(ext, True, kws, scope, node)
        elif f[0] == "method":
            static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in f[2].decorator_list)
            self.bind(f[2], not static, node, scope)
        elif f[0] == "func":
            self.bind(self.funcs[(f[1], f[2])], False, node, scope)

    def bind(self, fn, has_self, node, scope):
        names = [a.arg for a in fn.args.args][1 if has_self else 0:]
        pairs = list(zip(names, node.args))
        pairs += [(k.arg, k.value) for k in node.keywords if k.arg in names]
        for name, value in pairs:
            t = self.infer(value, scope)
            if t is not None and self.params.get((id(fn), name)) is None:
                self.params[(id(fn), name)] = t
                self.changed = True

    def bind_first(self, fn, t):
        names = [a.arg for a in fn.args.args][1:]
        if names and self.params.get((id(fn), names[0])) is None:
            self.params[(id(fn), names[0])] = t
            self.changed = True


# method names that, on a receiver the inference could not type, may be a
# hardware call it missed
_HARDWARE_METHODS = {name.rsplit(".", 1)[1] for table in TABLES.values() for name in table} | {
    "read", "write", "readinto", "irq", "init", "deinit", "on", "off", "duty", "freq", "put", "exec",
    "readfrom", "readfrom_mem", "writeto_mem", "scan", "memory", "datetime"}
