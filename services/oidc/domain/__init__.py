"""The OpenID Provider's pure rules: no I/O here."""
