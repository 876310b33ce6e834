"""Hypothesis throws byte strings and mutated commands at the serial
protocol of a simulated pen (the portable test_protocol_junk.py sends 3000
fixed junk inputs on both interpreters)."""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from junk import ARGS, WORDS, check

from rigs import linked_pen

EXAMPLES = int(os.environ.get("NEEDLEPEN_PROPERTY_EXAMPLES", "1500"))
PEN = linked_pen()

chunk = st.one_of(
    st.binary(max_size=60),
    st.builds(lambda w, a: w + b" " + a, st.sampled_from(WORDS), st.sampled_from(ARGS)),
    st.builds(lambda w, t: w + b" " + t.encode(), st.sampled_from(WORDS), st.text(max_size=30)),
    st.integers(100, 400).map(lambda n: b"y" * n),
)
inputs = st.lists(st.tuples(chunk, st.sampled_from([b"\n", b"\r\n", b"", b"\r", b" "])), min_size=1,
                  max_size=8).map(lambda parts: b"".join(a + b for a, b in parts))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs)
def test_protocol_survives_anything(data: bytes) -> None:
    check(PEN, data)
