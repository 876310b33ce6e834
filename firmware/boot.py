# Runs first at power-on: hold the motor and the depth actuator off before
# anything else loads (main.py's imports take a while), whatever state a
# reset left the pins in.
try:
    from board import BOARD

    if BOARD["pins"]:                 # the virtual board has none
        from machine import Pin

        for _name in ("motor_enable", "motor_pwm", "act_a", "act_b"):
            _pin = BOARD["pins"].get(_name)
            if _pin is not None:
                Pin(_pin, Pin.OUT, value=0)
except Exception as e:        # no board file yet: nothing to hold
    print("boot.py:", e)
