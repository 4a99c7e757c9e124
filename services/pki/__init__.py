"""pki: certificates and signatures (USB token, SIM signature), trust and revocation.

This milestone registers the service on the bus so operators and the gateway's readiness see
it; certificate validation arrives with the PKI issue.
"""
