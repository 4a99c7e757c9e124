"""Pure rules of registration: validation, the flow state machine, errors. No I/O here."""
