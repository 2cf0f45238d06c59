"""The one number reader: news shorthand read as value, unit and scale."""

from __future__ import annotations

import pytest

from app.text.numbers import contains_quantity, quantities, same_quantity


def one(text: str):
    [q] = quantities(text)
    return q


@pytest.mark.parametrize(
    ("text", "value", "unit", "kind"),
    [
        ("$327m", 327e6, "USD", "money"),
        ("£15.8bn", 15.8e9, "GBP", "money"),
        ("€2.5 billion", 2.5e9, "EUR", "money"),
        ("US$1.2bn", 1.2e9, "USD", "money"),
        ("500 dollars", 500, "USD", "money"),
        ("7%", 7, "%", "percent"),
        ("7.5 per cent", 7.5, "%", "percent"),
        ("a third", 1 / 3, "", "fraction"),
        ("1,000", 1000, "", "count"),
        ("two million", 2e6, "", "count"),
        ("twenty-five", 25, "", "count"),
        ("130cm", 130, "cm", "measure"),
        ("12 km", 12, "km", "measure"),
        ("in 2004", 2004, "", "year"),
        ("the 3rd", 3, "", "ordinal"),
    ],
)
def test_values_units_and_kinds(text, value, unit, kind):
    q = one(text)
    assert q.value == pytest.approx(value, rel=1e-6) and q.unit == unit and q.kind == kind


def test_offsets_point_at_the_number_in_the_text():
    text = "Profits rose to $1.13bn (£600m) in the quarter."
    spans = [text[q.start : q.end].strip() for q in quantities(text)]
    assert spans == ["$1.13bn", "£600m"]


def test_scale_unit_and_percent_must_agree():
    assert not same_quantity(one("$327m"), one("$327bn"))
    assert not same_quantity(one("7%"), one("7"))
    assert not same_quantity(one("£5m"), one("$5m"))
    assert same_quantity(one("1,000"), one("1000"))
    assert same_quantity(one("6.5 million"), one("£6.5m"))  # no currency said: the amount decides
    assert same_quantity(one("4.89 metres"), one("4.89m"))  # "m" after a number with no currency: metres too


def test_a_short_gold_answer_matches_leniently_only_when_asked():
    assert same_quantity(one("51.6"), one("£51.6m"), lenient=True)
    assert not same_quantity(one("51.6"), one("£51.6m"))
    assert not same_quantity(one("7"), one("7%"), lenient=True)
    assert contains_quantity("The loss was £51.6m.", one("51.6"), lenient=True)
    assert not contains_quantity("The loss was £51.6bn.", one("£51.6m"))


def test_dates_in_any_form_are_read_with_their_precision():
    import datetime as dt

    from app.text.dates import read_date

    assert read_date("5 June 2024") == read_date("June 5, 2024")
    assert read_date("5 June 2024").first_day == dt.date(2024, 6, 5) and read_date("5 June 2024").period == "day"
    assert (read_date("June 2025").first_day, read_date("June 2025").period) == (dt.date(2025, 6, 1), "month")
    assert (read_date("in 2006").first_day, read_date("in 2006").period) == (dt.date(2006, 1, 1), "year")
    assert read_date("June 5").has_year is False
    for not_a_date in ("two-hour", "30", "the 1990s", "7%"):
        assert read_date(not_a_date) is None, not_a_date


def test_a_question_about_a_time_after_the_article_is_marked(nlp):
    from app.answer.check.features import _after_publication
    from app.answer.question import analyse_question

    frame = analyse_question(nlp.parse("Who won the cup final in June 2025?"))
    assert _after_publication(frame, "2025-05-20")
    assert not _after_publication(frame, "2025-07-01")
    assert not _after_publication(analyse_question(nlp.parse("Who won the cup final?")), "2025-05-20")
