"""The portal's web pages (Vietnamese, server-rendered with Jinja2), served by the gateway.

Every page step calls the same service endpoints as the JSON API (the gateway's RPC client);
no business rule lives here. Pages work without JavaScript (``static/enhance.js`` only adds
the OTP resend countdown and the live password checklist), every form carries a CSRF token
and flows keep their token in a signed HttpOnly cookie (``security.py``). CSS and JS are
served from ``/static``: no external CDN.

Adding the page of a new flow: a router module here, included in ``install_web``, and its
entry (``registration.METHODS``, ``login.LOGIN_TABS``, ``account.ACCOUNT_PAGES``) pointed at it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from services.gateway.web import (
    account,
    account_activity,
    account_apps,
    account_logins,
    account_methods,
    account_methods_signature,
    account_reauth,
    home,
    login,
    login_first_password,
    login_otp_options,
    login_signature,
    password_reset,
    post_office_counter,
    register_bhxh,
    register_signature,
    registration,
    sandbox,
    vneid,
)
from services.gateway.web.guards import PageProblem, on_page_problem
from services.gateway.web.otp_timing import load_otp_timing
from services.gateway.web.password_rules import load_password_rules

STATIC_DIR = Path(__file__).parent / "static"
# The pages with a new-password form: the password rule is read from profile before them.
NEW_PASSWORD_PAGES = frozenset({registration, login_first_password, password_reset,
                                account_methods})


def install_web(app: FastAPI) -> None:
    for module in (home, registration, register_bhxh, register_signature, login,
                   login_first_password, login_otp_options, login_signature, password_reset,
                   account, account_methods, account_methods_signature, account_logins,
                   account_reauth,
                   account_activity, account_apps,
                   post_office_counter, sandbox, vneid):
        # otp's timing for the OTP screens (otp_timing.py); the password rule for the forms
        # that set one (password_rules.py): both read once from their owners.
        dependencies = [Depends(load_otp_timing)]
        if module in NEW_PASSWORD_PAGES:
            dependencies.append(Depends(load_password_rules))
        app.include_router(module.router, dependencies=dependencies)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(PageProblem, on_page_problem)
    app.add_exception_handler(account.LoginNeeded, account.on_login_needed)
