"""Registration: the flows (sagas) that turn a person into an account.

This milestone serves the mobile-subscriber method; the other methods (BHXH, SIM, USB token)
plug into ``domain/methods/`` as strategies of their own.
"""

__version__ = "0.1.0"
