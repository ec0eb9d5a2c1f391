"""A clip of the last N seconds: frames kept in a ring as they are grabbed, written by Pillow.

GIF (everywhere, 256 colours a frame) or APNG (full colour); Pillow ships both encoders, so nothing
outside the venv is needed. Frames are grabbed at ``fps`` by whoever owns the widget (the window's
frame timer, or the headless export's loop); the ring holds exactly ``seconds * fps`` of them, kept
as 24-bit RGB at 1x (a 1920x1080 frame is 6 MB: ten seconds are 600 MB, a 3x clip would be nine times
that).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Literal

from PIL import Image
from PySide6.QtGui import QImage

ClipFormat = Literal["gif", "apng"]
CLIP_FPS = 10.0  # smooth enough to see requests move; a 5 s GIF at 1280x720 stays a few MB


class Clip:
    def __init__(self, seconds: float, fps: float = CLIP_FPS) -> None:
        self.fps = fps
        self.frames: deque[QImage] = deque(maxlen=max(1, round(seconds * fps)))

    def add(self, image: QImage) -> None:
        self.frames.append(image.convertToFormat(QImage.Format.Format_RGB888))

    def save(self, path: Path, fmt: ClipFormat) -> int:
        """Write the frames held now; returns how many."""
        if not self.frames:
            raise OSError(f"no frames to write to {path}")
        images = [to_pillow(f) for f in self.frames]
        ms = round(1000 / self.fps)
        if fmt == "gif":
            # one palette per frame (adaptive): the plots' few colours survive exactly
            paletted = [im.quantize(colors=255) for im in images]
            paletted[0].save(path, "GIF", save_all=True, append_images=paletted[1:], duration=ms, loop=0)
        else:
            images[0].save(path, "PNG", save_all=True, append_images=images[1:], duration=ms, loop=0)
        return len(images)


def to_pillow(image: QImage) -> Image.Image:
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    data = bytes(rgb.constBits())
    return Image.frombuffer("RGB", (rgb.width(), rgb.height()), data, "raw", "RGB", rgb.bytesPerLine(), 1)
