"""The test identity provider's signing key: one RSA key per instance, kept on disk."""

from __future__ import annotations

from functools import lru_cache

from joserfc.jwk import KeySet, RSAKey

from app.security.keyfiles import pem_at

KEY_PARAMETERS = {"use": "sig", "alg": "RS256"}


@lru_cache(maxsize=4)
def signing_key(path: str) -> RSAKey:
    pem = pem_at(
        path,
        lambda: RSAKey.generate_key(2048, parameters=KEY_PARAMETERS).as_pem(private=True),
    )
    key = RSAKey.import_key(pem, KEY_PARAMETERS)
    return RSAKey.import_key(pem, {**KEY_PARAMETERS, "kid": key.thumbprint()})


def public_jwks(path: str) -> dict:
    return KeySet([signing_key(path)]).as_dict(private=False)
