"""Operator-made accounts (``dvcid admin``) and the post-office agent's session
(``accounts.py``)."""
