"""The SNS HTTP/S protocol: the envelope, its signature, the signing certificates, and confirmation.

``envelope`` is pure (fields, string to sign, URL rules); ``verify`` checks a message against a
certificate; ``certs`` and ``confirm`` are the only parts that reach the network, always to a URL that
``envelope`` has checked first.
"""
