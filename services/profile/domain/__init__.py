"""Pure rules of the profile service: models, state of a login flow, session expiry, errors."""
