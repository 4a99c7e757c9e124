"""Login recovery: the OTP to another registered phone, a lost OTP phone, the forgotten
password (``recovery.py``)."""
