"""Word lists shipped with dvcid (data, not rules): each service applies them in its own
rules. One copy of each list, read once per process."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def common_passwords() -> frozenset[str]:
    """The most common leaked passwords, case-folded. A missing file is an error, never an
    empty list: the password rule must not quietly stop refusing them."""
    text = files("shared.data").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().casefold() for line in text.splitlines()
        if line.strip() and not line.startswith("# ")
    )
