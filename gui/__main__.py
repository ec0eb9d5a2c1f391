"""``python -m gui`` runs the desktop app (and the headless tools, like the console script)."""

from gui.main import main

main()
