"""Attack tests: each one an attack tried over the public API (docs/security/threat-model.md)."""
