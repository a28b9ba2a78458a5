"""Documents of the project written from its measurements: `python -m docs.render` (see render.py)."""
