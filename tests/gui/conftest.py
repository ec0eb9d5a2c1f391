"""Widget tests run offscreen, with PySide6 chosen for qasync and pyqtgraph before either is imported."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_API"] = "pyside6"
os.environ["PYQTGRAPH_QT_LIB"] = "PySide6"

import pytest

from tests.gui.fakes import FakeLab, make_snapshot

__all__ = ["FakeLab", "make_snapshot"]


@pytest.fixture
def fake_lab() -> FakeLab:
    return FakeLab(make_snapshot())
