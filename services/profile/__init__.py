"""profile: accounts (identity, contacts, authentication methods), logins, sessions, history."""

SERVICE = "profile"
VERSION = "0.1.0"
DESCRIPTION = "Accounts, login flows, sessions and login history"
