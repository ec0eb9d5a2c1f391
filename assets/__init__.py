"""Data files shipped with the app (icons, later themes, tours and presets); read with importlib.resources."""
