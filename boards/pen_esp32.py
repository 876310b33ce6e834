# ESP32 pen controller, rev A: 128x32 SSD1306 display over I2C.  All analog
# inputs on ADC1 (ADC2 is unusable while Wi-Fi runs), 11 dB attenuation.
from boards.parts import pen_board

BOARD = pen_board(
    name="pen-esp32",
    description="ESP32 pen controller, rev A: OLED display UI",
    port="esp32",
    arch="xtensawin",
    pins={
        "motor_pwm": 25, "motor_brake": 26, "motor_enable": 27,
        "tach": 34,
        "act_a": 18, "act_b": 19,
        "cart_present": 4, "cart_id0": 16, "cart_id1": 17, "cart_id2": 32,
        "btn_power": 13, "btn_speed_up": 14, "btn_speed_down": 23,
        "btn_depth_up": 5, "btn_depth_down": 15,
        "i2c_sda": 21, "i2c_scl": 22, "led_fault": 2,
        "adc_current": 36, "adc_depth_a": 39, "adc_depth_b": 33,
        "adc_battery": 35, "adc_temperature": 37,
    },
    ui={"kind": "ssd1306", "width": 128, "height": 32, "i2c_addr": 60},
    # UART console at 115200 baud (~115 bytes per 10 ms): stay below it, so
    # the UART's write never waits for its FIFO
    serial_chunk=96, serial_bytes_per_beat=96,
    # 11 dB attenuation reads 0..3.1 V as 0..65535 (read_u16), hence the
    # scaling differs from the 3.3 V RP2040 board for the same front end.
    adc={
        "current": {"full_scale": 4700, "offset": 0},
        "battery": {"full_scale": 12400, "offset": 0},
        "temperature": {"full_scale": 3100, "offset": 10570},
        "depth_a": {"full_scale": 2820, "offset": 2130},
        "depth_b": {"full_scale": 2820, "offset": 1600},
    },
)
