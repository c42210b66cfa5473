"""Developer tools of the checkout (not installed with the package): ``make demo``, ``make lab``.

They need the checkout's ``notebooks/`` and run from the repository root (``python -m devtools.demo``).
"""
