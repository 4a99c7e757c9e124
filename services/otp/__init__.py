"""otp: one-time codes for every flow (issue, deliver by SMS, verify, throttle).

Contract: docs/messaging.md, section "otp".
"""

__version__ = "0.1.0"
