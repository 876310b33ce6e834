# The device adapters: the only firmware code that touches machine, rp2 and
# esp32.  They implement pen.hal.HAL and translate; they decide nothing.
