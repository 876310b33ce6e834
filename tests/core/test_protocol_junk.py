# Thousands of junk inputs on the wire (the same ones on CPython and on
# MicroPython): every line answered or dropped with an error, the motor never
# moved by them, the pen still answering afterwards.
from junk import check, generate

from rigs import ask, linked_pen


def test_junk_on_the_wire():
    pen = linked_pen()
    answers = 0
    for data in generate(2024, 3000):
        answers += check(pen, data)
    assert answers > 3000
    assert ask(pen, "status")[0].startswith("OK {")
