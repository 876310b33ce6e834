# What the RP2040 and ESP32 HALs share: motor and actuator outputs, buttons,
# the cartridge switch and ID pins, the watchdog, the reset cause.  Built on
# machine.PWM/Pin/WDT/Timer; the chip files add the tachometer, the ADCs and
# the display.
import machine
from machine import PWM, WDT, Pin

from pen import clock as pen_clock
from pen import tick as T
from pen.hal import B_DEPTH_DOWN, B_DEPTH_UP, B_POWER, B_SPEED_DOWN, B_SPEED_UP, HAL

AGE_MAX = 10000000
_BUTTONS = (("btn_power", B_POWER), ("btn_speed_up", B_SPEED_UP), ("btn_speed_down", B_SPEED_DOWN),
            ("btn_depth_up", B_DEPTH_UP), ("btn_depth_down", B_DEPTH_DOWN))


class MachineHAL(HAL):
    TIMER_ID = -1                     # the timer that feeds the watchdog in maintenance

    def __init__(self, board):
        pins = board["pins"]
        self.clock = pen_clock
        # outputs first, all off
        self.enable = Pin(pins["motor_enable"], Pin.OUT, value=0)
        self.brake = Pin(pins["motor_brake"], Pin.OUT, value=1)
        f = board["pwm_hz"]
        self.pwm = PWM(Pin(pins["motor_pwm"]), freq=f, duty_u16=0)
        self.act_a = PWM(Pin(pins["act_a"]), freq=f, duty_u16=0)
        self.act_b = PWM(Pin(pins["act_b"]), freq=f, duty_u16=0)
        self.cart = Pin(pins["cart_present"], Pin.IN, Pin.PULL_UP)
        self.cart_id = [Pin(pins["cart_id" + str(i)], Pin.IN, Pin.PULL_UP) for i in range(3)]
        self.btn = [Pin(pins[name], Pin.IN, Pin.PULL_UP) for name, _ in _BUTTONS]
        self.btn_bits = [bit for _, bit in _BUTTONS]
        self.ppr = board["motor"]["tach_pulses_per_rev"]
        self.wdt = None
        self.timer = None

    def read_cartridge(self, m):
        # switch to ground when seated; type = 3-bit code on the ID pins
        present = self.cart.value() == 0
        m[T.I_CART_PRESENT] = 1 if present else 0
        ct = 0
        if present:
            for i in range(3):
                if self.cart_id[i].value() == 0:
                    ct |= 1 << i
        m[T.I_CART_TYPE] = ct

    def write(self, m):
        self.enable.value(m[T.O_ENABLE])
        self.brake.value(m[T.O_BRAKE])
        self.pwm.duty_u16(m[T.O_DUTY])
        a = m[T.O_ACT_DUTY]
        if a >= 0:
            self.act_b.duty_u16(0)
            self.act_a.duty_u16(a)
        else:
            self.act_a.duty_u16(0)
            self.act_b.duty_u16(-a)

    def off(self):
        self.enable.value(0)
        self.pwm.duty_u16(0)
        self.brake.value(1)
        self.act_a.duty_u16(0)
        self.act_b.duty_u16(0)

    def buttons(self):
        bits = 0
        for i in range(5):
            if self.btn[i].value() == 0:
                bits |= self.btn_bits[i]
        return bits

    def start_watchdog(self, timeout_ms):
        self.wdt = WDT(timeout=timeout_ms)

    def feed(self):
        if self.wdt is not None:
            self.wdt.feed()

    def maintenance(self):
        # Motor off and, if the watchdog runs (it cannot be stopped), fed from
        # a timer so that the REPL (mpremote, a deploy) is not cut short.
        self.off()
        if self.wdt is not None and self.timer is None:
            wdt = self.wdt
            self.timer = machine.Timer(self.TIMER_ID)
            self.timer.init(period=500, mode=machine.Timer.PERIODIC, callback=lambda t: wdt.feed())

    def pen_id(self):
        from binascii import hexlify
        return hexlify(machine.unique_id()).decode()

    def reset_cause(self):
        c = machine.reset_cause()
        if c == machine.WDT_RESET:
            return "watchdog"
        if c == machine.PWRON_RESET:
            return "power"
        return "other"
