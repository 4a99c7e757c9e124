"""The demo client portal, "Cổng dịch vụ công tỉnh mẫu": a tiny separate web app that logs a
citizen in through an OpenID Provider with a real relying party library (Authlib's Starlette
client), then shows the claims and the ``acr`` it received, with a logout button (issue 15).

It stands for a ministry's or a province's own portal: configured by the provider's issuer URL,
its client id and secret (or a file holding it) and its own base URL (``config.py``), it works
against dvcid's provider (``<gateway>/.well-known/openid-configuration``) or the sandbox's VNeID
(``<sandbox>/vneid``). ``python -m sandbox.demo_portal`` serves it (127.0.0.1:8300); ``dvcid
dev`` runs it, registered at dvcid's provider (dvcid/demo_portal.py). The browser's cookie holds a random id;
the login stays in the process. Dev, demo and tests only.

=================  =====================================================================
route              what it does
=================  =====================================================================
``GET /``          who is logged in: the ID token's claims and ``acr``; or a login button
``GET /login``     to the provider (code flow, PKCE S256, state and nonce by Authlib);
                   ``?acr_values=`` asks the provider for a level
``GET /callback``  the provider's answer: the code exchanged, the ID token verified against
                   the provider's JWKS (issuer, audience, expiry, nonce)
``POST /logout``   forgets the login; to the provider's ``end_session_endpoint`` too when
                   it has one (RP-initiated logout), back to ``/`` afterwards
``POST /backchannel-logout``
                   the provider's logout token (Back-Channel Logout 1.0), verified against
                   its JWKS (``sessions.py``): the logins of that ``sid``/``sub`` end
=================  =====================================================================
"""
