"""Sessions: authenticate, me, logout (``sessions.py``); the account's live sessions and its
login history (``manage.py``)."""
