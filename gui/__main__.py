"""``python -m asgiscope.gui`` runs the desktop app (and the headless tools, like the console script)."""

from asgiscope.gui.main import main

main()
