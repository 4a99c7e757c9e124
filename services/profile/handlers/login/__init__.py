"""The login: one ``LoginFlow`` use case (``flow.py``) and a strategy per method
(``password.py``: ID + password + OTP; ``usb.py``: a USB token's signature; ``sim.py``: a SIM
signature), each a ``LoginStrategy`` (``strategy.py``). ``first_login.py``: the one-time
password of a post-office account, changed before its OTP step. ``vneid.py``: the claims of a
VNeID ID token the gateway verified: a session, a link to an account, or "no account"."""
