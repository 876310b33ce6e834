# Stand-ins for machine on the unix port, for bench/hal_cost.py only: the
# methods do nothing, so the timing is the HAL's own Python code.
class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    IRQ_RISING = 1

    def __init__(self, pin, mode=0, pull=None, value=None):
        self.v = 1 if value is None else value

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = v

    def irq(self, handler=None, trigger=0, hard=False):
        pass


class ADC:
    ATTN_11DB = 3

    def __init__(self, pin):
        pass

    def read_u16(self):
        return 30000

    def atten(self, a):
        pass


class PWM:
    def __init__(self, pin, freq=0, duty_u16=0):
        pass

    def duty_u16(self, d=None):
        return 0


class WDT:
    def __init__(self, timeout=0):
        pass

    def feed(self):
        pass


class Timer:
    PERIODIC = 1

    def __init__(self, i=-1):
        pass

    def init(self, **kw):
        pass


class I2C:
    def __init__(self, i, sda=None, scl=None, freq=0):
        pass

    def writeto(self, addr, data):
        pass

    def writevto(self, addr, bufs):
        pass


WDT_RESET = 3
PWRON_RESET = 1


def reset_cause():
    return PWRON_RESET
