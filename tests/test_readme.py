"""The README stays true: its configuration table is the one the code prints."""

from app.adapters.config_table import settings_table
from tests.conftest import REPO


def test_readme_configuration_table_matches_settings():
    readme = (REPO / "README.md").read_text()
    assert settings_table() in readme, "regenerate the README table with: python -m app config"


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    assert "bash scripts/test.sh" in readme
    assert "scripts/test.sh" in (REPO / ".ci" / "run").read_text()


def test_every_setting_is_in_one_section_of_the_table():
    from app.adapters.config_table import SECTIONS
    from app.config import Settings

    listed = [name for names in SECTIONS.values() for name in names]
    assert sorted(listed) == sorted(Settings.model_fields), "add the new setting to a section of SECTIONS"
