"""The account activity log: its consumer of security events, the owner's page and the
operator's audit (``log.py``)."""
