# The simulator's pen: the RP2040 board's parts and scaling, no pins; the
# HAL is sim.hal driving the plant models in sim.plant.
from boards.parts import ADC_3V3, pen_board

BOARD = pen_board(
    name="virtual",
    description="simulated pen (sim.plant) with the rev A parts",
    port="sim",
    arch="host",
    pins={},
    ui={"kind": "leds"},
    adc=ADC_3V3,
)
