"""pki: certificates and signatures (USB token, SIM signature), trust and revocation.

Validates a certificate and a signature over a fresh challenge (USB token) or over the hash a
SIM signed (mobile signature provider), against the configured trust anchors, with revocation
from the CA (OCSP, CRL), and says who the certificate names (level 3).
"""
