"""Rewrite the README's configuration table from the settings (python scripts/update_readme_config.py)."""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import settings_table  # noqa: E402

readme = Path(__file__).resolve().parent.parent / "README.md"
text = readme.read_text()
new, count = re.subn(r"\| Variable \| Default \| Meaning \|\n(?:\|.*\|\n)+", settings_table() + "\n", text, count=1)
if count != 1:
    sys.exit("README has no configuration table to replace")
readme.write_text(new)
