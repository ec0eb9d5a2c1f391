"""A clip holds the last N seconds of frames and writes them at the frames' size, as GIF or APNG."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtGui import QColor, QImage

from asgiscope.gui.clip import Clip, ClipFormat


def frame(k: int) -> QImage:
    image = QImage(320, 180, QImage.Format.Format_ARGB32)
    image.fill(QColor(10 * k % 256, 80, 200))
    return image


@pytest.mark.parametrize("fmt", ["gif", "apng"])
def test_the_last_seconds_at_the_frames_size(tmp_path: Path, fmt: ClipFormat) -> None:
    clip = Clip(seconds=1.5, fps=4)  # holds 6 frames
    for k in range(10):
        clip.add(frame(k))
    path = tmp_path / f"c.{fmt}"
    assert clip.save(path, fmt) == 6
    with Image.open(path) as im:
        assert im.size == (320, 180) and im.n_frames == 6
        im.seek(0)  # the oldest kept is frame 4: the first four scrolled out
        assert im.convert("RGB").getpixel((5, 5)) == (40, 80, 200)


def test_an_empty_clip_is_an_error_not_an_empty_file(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="no frames"):
        Clip(1.0).save(tmp_path / "c.gif", "gif")
    assert not (tmp_path / "c.gif").exists()
