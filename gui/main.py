"""The ``asgiscope`` console script: the desktop app, or a headless tool when asked for one.

``asgiscope serve ...``, ``asgiscope run ...`` and ``asgiscope tour ...`` never import Qt, so they work
on a machine without a display or Qt libraries.
"""

from __future__ import annotations

import importlib
import os
import sys

# ``export`` parses without Qt too, then draws offscreen.
HEADLESS = {
    "serve": "asgiscope.server.serve",
    "run": "asgiscope.server.cli_run",
    "tour": "asgiscope.server.cli_tour",
    "export": "asgiscope.gui.export_cli",
}


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] in HEADLESS:
        tool = importlib.import_module(HEADLESS[argv[0]])
        sys.exit(tool.main(argv[1:]))
    sys.exit(gui_main(argv))


def gui_main(argv: list[str]) -> int:
    from asgiscope.gui.cli import parse

    args = parse(argv)
    # qasync and pyqtgraph pick the first Qt binding they find: make it PySide6 before they look
    os.environ["QT_API"] = "pyside6"
    os.environ["PYQTGRAPH_QT_LIB"] = "PySide6"
    from asgiscope.gui.app import run

    return run(args)


if __name__ == "__main__":
    main()
