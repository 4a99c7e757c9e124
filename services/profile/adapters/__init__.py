"""Mongo repositories and the otp service client: the real implementations of the ports."""
