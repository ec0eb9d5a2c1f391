"""``python -m asgiscope``: the same as the ``asgiscope`` console script (the app, ``run`` or ``serve``)."""

from asgiscope.gui.main import main

main()
