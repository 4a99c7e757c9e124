"""The threat model names every attack test, and every test it names exists.

The attack tests under ``tests/security/`` are the safety net of every refactoring: an attack
test nobody can find from the threat model, or a row that points at a deleted test, is a gap.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THREAT_MODEL = ROOT / "docs/security/threat-model.md"
ATTACKS = ROOT / "tests/security"


def _named_in_model() -> set[str]:
    return set(re.findall(r"tests/security/(test_\w+\.py)", THREAT_MODEL.read_text()))


def test_every_attack_test_is_in_the_threat_model() -> None:
    on_disk = {path.name for path in ATTACKS.glob("test_*.py")}
    assert on_disk, "no attack tests found"
    assert on_disk - _named_in_model() == set()


def test_every_test_the_threat_model_names_exists() -> None:
    named = _named_in_model()
    assert named
    assert {name for name in named if not (ATTACKS / name).is_file()} == set()
