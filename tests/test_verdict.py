"""The verdict: a measurement within 10 % of its prediction bears the claim out; the words are shared."""

from __future__ import annotations

import math

import pytest

from asgiscope.server.verdict import Verdict, judge


@pytest.mark.parametrize(
    ("measured", "predicted", "within", "error"),
    [
        (1000.0, 1000.0, True, 0.0),
        (900.0, 1000.0, True, -0.1),
        (1100.0, 1000.0, True, 0.1),
        (899.0, 1000.0, False, -0.101),
        (19.0, 10.0, False, 0.9),
    ],
)
def test_within_ten_percent_either_way(measured: float, predicted: float, within: bool, error: float) -> None:
    v = judge(measured, predicted, "why")
    assert v is not None
    assert v.within is within and v.error == pytest.approx(error)
    assert ("within 10 %" in v.text) is within and ("more than 10 %" in v.text) is not within
    d = v.to_dict()
    assert (d["within"], d["explanation"], d["text"]) == (within, "why", v.text)


def test_the_words() -> None:
    assert Verdict(1012.4, 1000.0, "").text == "measured 1,012 req/s, predicted 1,000: within 10 % (+1.2 %)"


@pytest.mark.parametrize(
    ("measured", "predicted"), [(None, 10.0), (10.0, None), (10.0, 0.0), (math.nan, 10.0), (10.0, math.inf)]
)
def test_nothing_to_judge_is_no_verdict(measured: float | None, predicted: float | None) -> None:
    assert judge(measured, predicted) is None
