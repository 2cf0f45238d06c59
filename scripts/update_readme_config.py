"""Rewrite the README's configuration tables from the settings (python scripts/update_readme_config.py):
everything between the Configuration section's first table heading and its closing paragraph."""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.adapters.config_table import settings_table

readme = Path(__file__).resolve().parent.parent / "README.md"
text = readme.read_text()
# from the first "**Section**" line after the heading to the last table row before the closing paragraph
pattern = r"(## Configuration\n(?:(?!\*\*).*\n)*?)\*\*[^\n]*\*\*\n(?:.*\n)*?(?:\|.*\|\n)(?=\n(?!\*\*|\|)[^\n]+\n)"
new, count = re.subn(pattern, lambda m: m.group(1) + settings_table() + "\n", text, count=1)
if count != 1:
    sys.exit("README has no configuration tables to replace")
readme.write_text(new)
