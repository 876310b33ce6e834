# ESP32 pen controller, rev A: 128x32 SSD1306 display over I2C.  All analog
# inputs on ADC1 (ADC2 is unusable while Wi-Fi runs), 11 dB attenuation.
#
# For an ESP32-WROOM-32 module (MODULE below; flash ESP32_GENERIC).  The board
# uses 23 GPIOs: every pad a WROOM-32 has apart from UART0 (1, 3: the console
# and the pen's serial link), the flash (6-11) and GPIO0.  Read CAVEATS before
# laying out or wiring a board; docs/boards.md lists them too.
from boards.parts import pen_board

MODULE = "ESP32-WROOM-32"

BOARD = pen_board(
    name="pen-esp32",
    description="ESP32 pen controller, rev A: OLED display UI",
    port="esp32",
    arch="xtensawin",
    pins={
        # float from reset until boot.py/the HAL: external pull-downs (CAVEATS)
        "motor_pwm": 25, "motor_brake": 26, "motor_enable": 27,
        "tach": 34,                                    # input only: no internal pull-up
        "act_a": 18, "act_b": 19,                      # external pull-downs too
        # 16/17: not on a WROVER (its PSRAM's); 2: strapping pin, switch to ground only
        "cart_present": 4, "cart_id0": 16, "cart_id1": 17, "cart_id2": 2,
        "btn_power": 13, "btn_speed_up": 14, "btn_speed_down": 23,
        "btn_depth_up": 5, "btn_depth_down": 15,       # strapping pins: buttons to ground only
        "i2c_sda": 21, "i2c_scl": 22,
        "led_fault": 12,                               # strapping pin (MTDI): LED to ground, no pull-up
        "adc_current": 36, "adc_depth_a": 39, "adc_depth_b": 33,
        "adc_battery": 35, "adc_temperature": 32,      # ADC1 channels 0, 3, 5, 7, 4
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
    # the ESP32's ADC at 11 dB is coarser than the RP2040's, even after the
    # board's calibration: a wider battery guard band (docs/faults.md)
    tolerances={"sensors": {"battery_accuracy_mv": 40, "battery_noise_mv": 15.0}},
)

# What a board designer must know about these pins (rendered into
# docs/boards.md by `needlepen boards --markdown`; not part of the pen's
# board.py, so they cost the pen no RAM).
CAVEATS = [
    "Module: ESP32-WROOM-32 (-32D, -32E, -32UE: no PSRAM). Not a WROVER: there GPIO16 and GPIO17 "
    "(cart_id0, cart_id1) drive the PSRAM and are not on the module's pads, which leaves 22 usable "
    "GPIOs, GPIO0 included, for the board's 23 signals (a WROVER layout needs an I/O expander).",
    "GPIO37 is not on the WROOM-32's (or WROVER's) pads: adc_temperature is on GPIO32 (ADC1 channel 4); "
    "to make room, cart_id2 moved from GPIO32 to GPIO2 and led_fault from GPIO2 to GPIO12.",
    "Motor driver: GPIO25, GPIO26 and GPIO27 (motor_pwm, motor_brake, motor_enable) are inputs "
    "without a pull from reset until boot.py drives the PWM and enable low (bootloaders, MicroPython "
    "start-up and the filesystem mount come first; the brake waits for the HAL). Fit external "
    "pull-downs (e.g. 10 kOhm to ground) on the driver's enable, PWM and brake inputs, and on the depth "
    "actuator driver's inputs (act_a, act_b: GPIO18, GPIO19, no pull at reset either), so that a "
    "resetting or unprogrammed pen cannot drive either motor.",
    "Strapping pins, latched at power-on and at hardware resets (EN, brownout, RTC watchdog): "
    "GPIO12 (MTDI) selects the flash voltage and must then be low on a WROOM-32 (3.3 V flash), so it "
    "carries led_fault, an LED from the pin to ground (its internal pull-down holds it low at reset); "
    "never a pull-up, a button or an input there. GPIO2 must be low or floating for the serial "
    "bootloader (download mode): cart_id2, a cartridge contact that only ever switches to ground (the "
    "firmware's pull-up is on only after boot); no LED or pull-up on GPIO2 (some DevKit boards fit an "
    "LED there: it would read as a cartridge code bit). GPIO5 (btn_depth_up) and GPIO15 "
    "(btn_depth_down, MTDO) have pull-ups at reset; a button held at power-on changes only the "
    "SDIO-slave timing (unused) or, on GPIO15, silences the ROM's boot log on UART0: buttons to ground "
    "only, no external pull-downs. GPIO0 (download mode when low) is left free.",
    "GPIO34, 35, 36 and 39 are inputs only, without internal pulls: the tachometer (GPIO34) needs a "
    "push-pull output or an external pull-up; the others are analog inputs.",
]
