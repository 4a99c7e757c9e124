"""Pure PKI rules: certificate and signature checks, identities, challenges, errors, ports."""
