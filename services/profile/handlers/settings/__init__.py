"""The account's settings: contacts, authentication methods and the password change
(``account.py``), the step-up (``step_up.py``), the notices of sensitive changes
(``notices.py``); what every sensitive change shares is in ``handlers/changes.py``."""
