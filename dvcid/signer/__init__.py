"""``dvcid signer``: the signing agent on the citizen's computer (the "USB ký số" plugin).

The portal page asks a challenge from the server, then calls this agent on 127.0.0.1: it lists
the certificates on the USB token (PKCS#11, any vendor's driver) or in a PKCS#12 file, and signs
the challenge with the key of the certificate the person picked, after the PIN. The page sends
the signature, the certificate and its chain to the portal, whose pki service verifies them.

Layout: ``domain`` (certificate descriptions, the signature schemes, the agent's errors and the
backend port), ``agent`` (routes a request to the backend holding the certificate),
``pkcs11_backend`` / ``pkcs12_backend`` (the two backends), ``app`` (the local HTTP API with
its origin and host guards), ``config`` (settings), ``server`` (the ``dvcid signer`` command).
"""
