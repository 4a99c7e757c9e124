"""dvcid tooling: the development stack runner and the operator CLI."""
