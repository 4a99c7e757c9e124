"""Registration: the flow (a saga) that turns a person into an account.

One ``RegistrationFlow`` (``domain/flow.py``) whatever the method; each method (mobile, BHXH,
SIM, USB token, post office) is a strategy of it: ``methods/<name>.py`` for its use case,
``domain/methods/<name>.py`` for its pure rules (issue 16).
"""

__version__ = "0.1.0"
