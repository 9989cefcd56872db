"""Pieces for the projects around the identity server rather than the server itself.

Everything under this package stands alone: it imports the standard library, Django, Django
REST framework, PyJWT and cryptography, and nothing else of ``identity``, so that an API that
only *receives* our tokens can install the distribution without running the server's apps,
models or migrations.
"""
