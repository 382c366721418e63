"""Performance reports: one model built from a run folder, rendered to HTML and PDF.

Import the pieces you need (``engine.report.model``, ``.html``, ``.pdf``, ``.cli``);
this package file stays empty so that ``engine.config.run_config`` can import
``engine.config.report`` without pulling in plotting libraries.
"""
