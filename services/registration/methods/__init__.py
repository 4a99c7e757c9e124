"""The registration methods as strategies of the one flow (Ory Kratos style): one module per
method, each a ``RegistrationMethod`` (``base.py``). Their pure rules are in
``services/registration/domain/methods/``; the handlers look a flow's method up once per call.
"""
