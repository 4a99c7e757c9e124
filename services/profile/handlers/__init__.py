"""The profile service's use cases, a package per flow (issue 16):

- ``login/``: one ``LoginFlow`` whose methods (``password``, ``usb``, ``sim``) are
  strategies, and the first login of a post-office account;
- ``recovery/``: the OTP to another phone, a lost phone, the forgotten password;
- ``settings/``: identity and contacts, authentication methods, the password change, the
  step-up and the notices of sensitive changes;
- ``sessions/``: authenticate, me, logout, the account's sessions and login history;
- ``staff/``: operator-made accounts and the agent's session;
- ``activity/``: the account activity log;
- ``accounts.py`` (the AccountCreated consumer), ``credentials.py`` (the password rule and
  staged credentials), ``guard.py`` (throttles, locks, captchas), ``changes.py`` (the step-up
  and the notice every sensitive change needs: settings and sessions), ``common.py``.

``services/profile/bootstrap.py`` builds each once; ``entrypoints.py`` serves them.
"""
