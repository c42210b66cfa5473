"""The wizard as a standalone web app: ``zimport app`` serves ``wizard.ipynb`` with Voilà (no code cells shown)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["NOTEBOOK"]

#: The notebook the app serves: one cell, the ImportWizard.
NOTEBOOK = Path(__file__).with_name("wizard.ipynb")
