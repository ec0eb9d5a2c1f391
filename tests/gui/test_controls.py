"""Each control produces the right Scenario / LoadSpec change."""

from __future__ import annotations

from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from asgiscope.gui.controls import DEBOUNCE_MS, TIPS, ControlsPanel
from asgiscope.gui.model import Controls, Ranges, options


def make_panel(qtbot: QtBot, controls: Controls | None = None) -> tuple[ControlsPanel, list[Controls]]:
    panel = ControlsPanel(controls or Controls(), cores=2)
    qtbot.addWidget(panel)
    seen: list[Controls] = []
    panel.changed.connect(seen.append)
    return panel, seen


@pytest.mark.parametrize(
    ("name", "value", "where", "field", "expected"),
    [
        ("workers", 4, "scenario", "workers", 4),
        ("tokens", 7, "scenario", "tokens", 7),
        ("ms", 250, "load", "ms", 250),
        ("users", 500, "load", "users", 500),
        ("rate", 2000, "load", "rate", 2000.0),
    ],
)
def test_each_slider_changes_its_field(
    qtbot: QtBot, name: str, value: float, where: str, field: str, expected: Any
) -> None:
    panel, seen = make_panel(qtbot, Controls(mode="open") if name == "rate" else None)
    slider = panel.sliders[name]
    slider.slider.setValue(slider._to_position(value))  # as a drag would
    assert seen == []  # debounced
    panel.flush()
    assert len(seen) == 1
    target = seen[0].scenario() if where == "scenario" else seen[0].load(running=False)
    assert getattr(target, field) == expected


@pytest.mark.parametrize(
    ("name", "value", "check"),
    [
        ("handler", "threadpool", lambda c: c.load(running=False).endpoint == "io/sync"),
        ("handler", "blocking", lambda c: c.load(running=False).endpoint == "io/blocking"),
        ("work", "cpu", lambda c: c.load(running=False).endpoint == "cpu/async"),
        ("server", "gunicorn", lambda c: c.scenario().server == "gunicorn"),
        ("loop", "uvloop", lambda c: c.scenario().loop == "uvloop"),
        ("http", "httptools", lambda c: c.scenario().http == "httptools"),
        ("engine", "httpx", lambda c: c.load(running=False).engine == "httpx"),
        ("mode", "open", lambda c: c.load(running=False).mode == "open"),
        ("connection", "forever", lambda c: c.load(running=False).connection == "forever"),
        ("connection", "per-request", lambda c: c.load(running=False).connection == "per-request"),
    ],
)
def test_each_toggle_changes_its_field_at_once(qtbot: QtBot, name: str, value: str, check: Any) -> None:
    panel, seen = make_panel(qtbot)
    panel.choices[name].buttons[value].click()
    assert len(seen) == 1 and check(seen[0])


def test_socket_only_for_gunicorn(qtbot: QtBot) -> None:
    panel, seen = make_panel(qtbot)
    assert not panel.choices["socket"].isEnabled()
    panel.choices["server"].buttons["gunicorn"].click()
    assert panel.choices["socket"].isEnabled()
    panel.choices["socket"].buttons["reuse_port"].click()
    assert seen[-1].scenario().socket == "reuse_port"
    panel.choices["server"].buttons["uvicorn"].click()
    assert seen[-1].scenario().socket == "shared"
    assert panel.choices["socket"].value() == "shared"
    assert not panel.choices["socket"].isEnabled()


def test_closed_and_open_loop_enable_users_or_rate(qtbot: QtBot) -> None:
    panel, _ = make_panel(qtbot)
    assert panel.users.isEnabled() and not panel.rate.isEnabled()
    panel.choices["mode"].buttons["open"].click()
    assert panel.rate.isEnabled() and not panel.users.isEnabled()


def test_a_drag_is_one_change_after_the_debounce(qtbot: QtBot) -> None:
    panel, seen = make_panel(qtbot)
    with qtbot.waitSignal(panel.changed, timeout=DEBOUNCE_MS * 8) as blocker:
        for ms in range(100, 400, 10):
            panel.ms.slider.setValue(ms)
    assert len(seen) == 1
    assert blocker.args[0].ms == 390
    assert panel.ms.value_label.text() == "390 ms"


def test_values_are_shown_beside_the_sliders(qtbot: QtBot) -> None:
    panel, _ = make_panel(qtbot, Controls(users=1500, workers=3, tokens=12))
    assert panel.users.value_label.text() == "1,500"
    assert panel.workers.value_label.text() == "3"
    assert panel.tokens.value_label.text() == "12 / worker"


def test_set_controls_does_not_emit(qtbot: QtBot) -> None:
    panel, seen = make_panel(qtbot)
    panel.set_controls(Controls(workers=3, server="gunicorn", socket="reuse_port"))
    assert seen == []
    assert panel.controls().workers == 3 and panel.choices["socket"].value() == "reuse_port"


def test_workers_slider_reaches_the_server_limit_and_says_more_than_cores_do_not_help(qtbot: QtBot) -> None:
    panel, _ = make_panel(qtbot)
    assert (panel.workers.slider.minimum(), panel.workers.slider.maximum()) == (1, 32)
    assert "More workers than cores do not help" in panel.workers.slider.toolTip() + panel.workers.toolTip()


@pytest.mark.parametrize("cores", [1, 24, 64])
def test_the_panel_offers_what_the_model_derives_from_the_server(qtbot: QtBot, cores: int) -> None:
    panel = ControlsPanel(Controls(), cores=cores)
    qtbot.addWidget(panel)
    seen: list[Controls] = []
    panel.changed.connect(seen.append)
    for name, scale in Ranges.for_cores(cores).scales().items():
        slider = panel.sliders[name].slider
        assert (slider.minimum(), slider.maximum()) == scale.positions
        slider.setValue(slider.maximum())  # the far end, as a drag would
    for name, choice in panel.choices.items():
        assert [b.text() for b in choice.buttons.values()] == [label for _v, label in options(name)]
    panel.flush()
    # on any machine the workers slider stops at what Scenario accepts (32)
    assert seen[-1].scenario().workers == 32
    seen[-1].load(running=True)


def test_every_control_has_a_tooltip_about_the_server(qtbot: QtBot) -> None:
    panel, _ = make_panel(qtbot)
    for name in (*panel.sliders, *panel.choices):
        widget = panel.sliders.get(name) or panel.choices[name]
        assert widget.toolTip() == TIPS[name]
        assert len(TIPS[name]) > 40


@pytest.mark.parametrize(("users", "label"), [(1234, "1,234"), (1, "1"), (2000, "2,000"), (777, "777")])
def test_a_log_slider_shows_the_value_that_runs_not_its_rounded_position(
    qtbot: QtBot, users: int, label: str
) -> None:
    panel, seen = make_panel(qtbot, Controls(users=users))
    assert panel.users.value_label.text() == label
    assert panel.controls().users == users
    # moving it shows the value of the new position, and that is what runs
    position = panel.users.slider.value()
    panel.users.slider.setValue(position - 50 if position > 500 else position + 50)
    panel.flush()
    assert panel.users.value_label.text() == f"{seen[-1].users:,}"


def test_the_rate_label_shows_a_fractional_rate_as_it_runs(qtbot: QtBot) -> None:
    panel, _ = make_panel(qtbot, Controls(rate=1234.5, mode="open"))
    assert panel.rate.value_label.text() == "1,234.5 req/s"


def test_choosing_flask_greys_out_what_cannot_run_with_the_reason_as_tooltip(qtbot: QtBot) -> None:
    panel, seen = make_panel(qtbot, Controls(handler="await"))
    assert not panel.choices["worker_class"].buttons["sync"].isEnabled()
    assert "gunicorn's workers" in panel.choices["worker_class"].buttons["sync"].toolTip()
    panel.choices["framework"].buttons["flask"].click()
    (chosen,) = seen
    assert (chosen.framework, chosen.server, chosen.worker_class, chosen.handler) == (
        "flask",
        "gunicorn",
        "sync",
        "threadpool",
    )
    assert panel.choices["server"].value() == "gunicorn" and panel.choices["handler"].value() == "threadpool"
    uvicorn = panel.choices["server"].buttons["uvicorn"]
    assert not uvicorn.isEnabled() and "Flask is WSGI" in uvicorn.toolTip()
    awaiting = panel.choices["handler"].buttons["await"]
    assert not awaiting.isEnabled() and "under WSGI" in awaiting.toolTip()
    threadpool = panel.choices["handler"].buttons["threadpool"]
    assert threadpool.isEnabled() and threadpool.toolTip() == TIPS["handler"]
