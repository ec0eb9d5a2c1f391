"""asgiscope: shows, live and truthfully, why an async Python web server is fast.

The distribution's one import name. Its parts live in the repository's top-level folders and are mapped
here by pyproject.toml: ``server/`` is ``asgiscope.server`` (no Qt), ``gui/`` is ``asgiscope.gui``,
``assets/`` is ``asgiscope.assets``. This folder holds only what belongs to the name itself.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("asgiscope")
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
