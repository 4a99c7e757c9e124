"""A date typed in three boxes, Ngày / Tháng / Năm (the GOV.UK date pattern, issue 17): the
browser's own date input shows ``mm/dd/yyyy`` in many locales while people write 17/05/1990.

The boxes are posted as ``<name>_day``, ``<name>_month`` and ``<name>_year``; the services get
the ISO date (``YYYY-MM-DD``) as the JSON API takes it. A box's own mistake is reported on that
box (``<name>_day`` …); a date that does not exist, or none at all, on the date (``<name>``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.gateway.web.rendering import FormErrors, form_values

BOXES = ("day", "month", "year")


@dataclass
class DateBoxes:
    """What was typed (to fill the boxes again) and what the boxes make."""

    typed: dict[str, str]
    iso: str | None = None
    errors: dict[str, str] = field(default_factory=dict)


def read_date_boxes(form: Mapping[str, Any], name: str, what: str = "ngày sinh") -> DateBoxes:
    typed = {f"{name}_{box}": _text(form.get(f"{name}_{box}")) for box in BOXES}
    day, month, year = (typed[f"{name}_{box}"] for box in BOXES)
    result = DateBoxes(typed=typed)
    if not (day or month or year):
        result.errors[name] = f"Vui lòng nhập {what}."
        return result
    if not _number_between(day, 1, 31):
        result.errors[f"{name}_day"] = (
            "Ngày là một số từ 1 đến 31." if day else f"Vui lòng nhập ngày của {what}.")
    if not _number_between(month, 1, 12):
        result.errors[f"{name}_month"] = (
            "Tháng là một số từ 1 đến 12." if month else f"Vui lòng nhập tháng của {what}.")
    if not (len(year) == 4 and year.isascii() and year.isdigit()):
        result.errors[f"{name}_year"] = (
            "Năm gồm 4 chữ số, ví dụ 1990." if year else f"Vui lòng nhập năm của {what}.")
    if result.errors:
        return result
    try:
        result.iso = date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        result.errors[name] = (f"Ngày {int(day):02d}/{int(month):02d}/{year} không có thật. "
                               f"Vui lòng kiểm tra lại {what}.")
    return result


def boxes_of(iso: str | None, name: str) -> dict[str, str]:
    """The boxes' values of an ISO date (to show a known date in the boxes)."""
    parts = (iso or "").split("-")
    if len(parts) != 3:
        return {}
    year, month, day = parts
    return {f"{name}_day": day, f"{name}_month": month, f"{name}_year": year}


def _text(value: Any) -> str:
    # People type "05" or " 5 "; a value longer than a year is no date at all.
    return value.strip()[:8] if isinstance(value, str) else ""


def _number_between(text: str, low: int, high: int) -> bool:
    return text.isascii() and text.isdigit() and low <= int(text) <= high


def with_date_errors(errors: FormErrors, boxes: DateBoxes, name: str,
                     order: tuple[str, ...]) -> FormErrors:
    """A service's refusal with the boxes' own findings in place of its word on the date
    (it saw no date when the boxes made none), every line in the form's order."""
    if not boxes.errors:
        return errors
    fields = {key: lines for key, lines in errors.fields.items() if key != name}
    fields |= {key: [line] for key, line in boxes.errors.items()}

    def position(key: str) -> int:
        base = name if key.startswith(name) else key
        return order.index(base) if base in order else len(order)

    errors.fields = dict(sorted(fields.items(), key=lambda item: position(item[0])))
    return errors


def form_with_date(form: Mapping[str, Any], names: tuple[str, ...],
                   name: str = "birth_date") -> tuple[dict[str, str], dict[str, str], FormErrors, DateBoxes]:
    """A form's text fields and its date boxes: the values for the service (the date as
    ISO, absent when the boxes make none: the service then names every other gap too), the
    values to show again (what was typed in the boxes), the errors and the boxes."""
    values, errors = form_values(form, tuple(n for n in names if n != name))
    boxes = read_date_boxes(form, name)
    if boxes.iso:
        values[name] = boxes.iso
    return values, values | boxes.typed, errors, boxes
