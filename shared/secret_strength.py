"""How production judges a secret it is given: placeholder, empty, too short, or not random.

A secret's strength cannot be measured from one value, so this estimates it from what the
value looks like, the way keys are made (``secrets.token_urlsafe(32)``, ``openssl rand -hex 32``):

- its *encoding* gives the bits each character can carry: hex digits 4, base64/base64url
  characters 6, anything else 6 as well (a conservative figure for printable text);
- its *length* times that gives the random bytes it could hold at most;
- a *pattern* check refuses values that are long enough but plainly not random: a repeating
  period (``abab…``, ``0123…f0123…f``), few distinct characters for the length (a low
  empirical entropy per character), or runs of neighbouring characters (``ABCDEF…``).

A value can pass and still be weak (a long sentence someone typed); the checks stop the
common mistakes: a template's placeholder, a word, a short key, a key made by hand.
"""

from __future__ import annotations

import math
import string
from collections import Counter
from itertools import pairwise

# Keys dvcid makes and keeps (HMAC keys): 32 random bytes (256 bits).
KEY_BYTES = 32
# Credentials another system issues in its own format (a Twilio auth token is 32 hex digits,
# 16 bytes): the floor is 16 random bytes (128 bits).
CREDENTIAL_BYTES = 16

# Markers of a value nobody filled in, looked for inside the value (letters and digits only,
# lower-cased). Long enough never to turn up by chance in a random key.
PLACEHOLDER_MARKERS = ("changeme", "devinsecure", "placeholder", "replaceme", "fillin",
                       "example", "yoursecret", "insecure")
# Whole values (lower-cased, separators and trailing digits dropped) that are words, not keys.
PLACEHOLDER_WORDS = frozenset({
    "", "secret", "password", "passwd", "pass", "token", "apikey", "key", "test", "default",
    "admin", "root", "none", "null", "dev", "prod", "production", "qwerty", "letmein",
})

_HEX = frozenset(string.hexdigits)
_BASE64 = frozenset(string.ascii_letters + string.digits + "-_+/")


def _normalized(value: str) -> str:
    return "".join(c for c in value.lower() if c.isalnum())


def is_placeholder(value: str) -> bool:
    normalized = _normalized(value)
    return (any(marker in normalized for marker in PLACEHOLDER_MARKERS)
            or normalized.rstrip(string.digits) in PLACEHOLDER_WORDS)


def random_bytes_at_most(value: str) -> int:
    """The random bytes the value could hold, from its encoding and length."""
    body = value.rstrip("=")  # base64 padding carries nothing
    bits_per_char = 4 if body and set(body) <= _HEX else 6
    return len(body) * bits_per_char // 8


def _has_period(value: str) -> bool:
    """True when the value repeats itself: ``xyzxyzxy…`` (a period of at most half of it)."""
    return any(value[p:] == value[:-p] for p in range(1, len(value) // 2 + 1))


def _entropy_per_char(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _expected_entropy_floor(value: str) -> float:
    """A share of the most a value of this length and alphabet can show. Random keys sit near
    the top (a random 64-hex key shows ~3.8 of 4 bits; in 200 000 random 32-hex tokens the
    lowest showed 2.83, of 22-character base64url ones 3.3), hand-made ones far below."""
    alphabet = 16 if set(value) <= _HEX else 64
    return 0.65 * math.log2(min(alphabet, len(value)))


def _mostly_runs(value: str) -> bool:
    """True when most neighbours are consecutive characters (``abcd``, ``9876``, ``aaaa``)."""
    steps = [abs(ord(b) - ord(a)) <= 1 for a, b in pairwise(value)]
    return sum(steps) > len(steps) * 0.6


def is_patterned(value: str) -> bool:
    body = value.strip().rstrip("=")
    if len(body) < 2:
        return True
    # A key never holds a space: a value with one is a sentence someone typed.
    return (any(c.isspace() for c in body) or _has_period(body) or _mostly_runs(body)
            or _entropy_per_char(body) < _expected_entropy_floor(body))


def weakness(value: str, min_bytes: int) -> str | None:
    """Why the value is no secret (``"is empty"``, ``"is a placeholder"``, ...), or None."""
    if not value.strip():
        return "is empty"
    if is_placeholder(value):
        return "is a placeholder"
    if random_bytes_at_most(value.strip()) < min_bytes:
        return (f"is too short (at least {min_bytes} random bytes: "
                f"{math.ceil(min_bytes * 8 / 6)} base64url characters or {min_bytes * 2} hex digits)")
    if is_patterned(value):
        return "is not random (a repeated or hand-made pattern)"
    return None
