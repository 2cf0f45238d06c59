"""The chat UI adapter (Gradio): blocks.py builds the page, render.py its escaped HTML,
assets.py its CSS and script."""

from app.adapters.ui.assets import UI_CSS, UI_HEAD
from app.adapters.ui.blocks import build_ui

__all__ = ["UI_CSS", "UI_HEAD", "build_ui"]
