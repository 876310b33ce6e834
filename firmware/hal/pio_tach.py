# mypy: disable-error-code="name-defined"
# (the PIO assembler's names, jmp, x_dec, ..., exist only inside @asm_pio)
#
# RP2040 PIO program timing the tachometer: the count of 2-cycle steps from
# one rising edge to the next, pushed to the RX FIFO per edge.
import rp2

PIO_FREQ = 10000000          # state machine clock; one count = 2 cycles = 0.2 us


@rp2.asm_pio()
def tach_period():
    # x counts down from 2**32-1, one decrement per 2 cycles, from one rising
    # edge to the next; the elapsed count (~x) goes to the RX FIFO.
    wait(0, pin, 0)
    wait(1, pin, 0)
    wrap_target()
    mov(x, invert(null))
    label("high")
    jmp(x_dec, "h2")
    label("h2")
    jmp(pin, "high")
    label("low")
    jmp(pin, "edge")
    jmp(x_dec, "low")
    label("edge")
    mov(isr, invert(x))
    push(noblock)
    wrap()
