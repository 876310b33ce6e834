# RP2040 pen controller, rev A: LED bar UI.  The RP2040 has four ADC inputs,
# so battery and motor temperature share ADC3 through an analog switch
# (pin adc_mux) and are read on alternate ticks.
from boards.parts import ADC_3V3, pen_board

BOARD = pen_board(
    name="pen-rp2040",
    description="RP2040 pen controller, rev A: LED bar UI",
    port="rp2",
    arch="armv6m",
    pins={
        "motor_pwm": 2, "motor_brake": 3, "motor_enable": 4,
        "tach": 5,
        "act_a": 6, "act_b": 7,
        "cart_present": 8, "cart_id0": 9, "cart_id1": 10, "cart_id2": 11,
        "btn_power": 12, "btn_speed_up": 13, "btn_speed_down": 14,
        "btn_depth_up": 15, "btn_depth_down": 16,
        "led_level1": 17, "led_level2": 18, "led_level3": 19,
        "led_level4": 20, "led_level5": 21, "led_level6": 22,
        "adc_mux": 23, "led_status": 24, "led_fault": 25,
        "adc_current": 26, "adc_depth_a": 27, "adc_depth_b": 28, "adc_vbat_temp": 29,
    },
    ui={"kind": "leds"},
    adc=ADC_3V3,
    # USB CDC: POLLOUT promises one free byte only and a longer write may
    # wait up to 500 ms for a host that does not read: small writes (and
    # single bytes after one that waited, pen.link)
    serial_chunk=16, serial_bytes_per_beat=256,
)
