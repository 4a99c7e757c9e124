"""Mongo repositories bound to the unit of work, and clients of external systems."""
