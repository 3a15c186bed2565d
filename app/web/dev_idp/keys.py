"""The test identity provider's signing key: one RSA key per instance, kept on disk.

Every worker process must sign with the same key, so the first one to need it writes
it atomically and the others read that file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from joserfc.jwk import KeySet, RSAKey

KEY_PARAMETERS = {"use": "sig", "alg": "RS256"}


@lru_cache(maxsize=4)
def signing_key(path: str) -> RSAKey:
    file = Path(path)
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        pem = RSAKey.generate_key(2048, parameters=KEY_PARAMETERS).as_pem(private=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".dev-idp-key-")
        try:
            os.write(fd, pem)
            os.close(fd)
            os.chmod(tmp, 0o600)
            with contextlib.suppress(FileExistsError):  # another process won the race
                os.link(tmp, file)
        finally:
            os.unlink(tmp)
    pem = file.read_bytes()
    key = RSAKey.import_key(pem, KEY_PARAMETERS)
    return RSAKey.import_key(pem, {**KEY_PARAMETERS, "kid": key.thumbprint()})


def public_jwks(path: str) -> dict:
    return KeySet([signing_key(path)]).as_dict(private=False)
