"""An access token for the record-system API, as a record system gets one (docs/api.md).

    .venv/bin/python scripts/api_token.py docs/api-demo/andeby-epj.private.jwk.json \\
        andeby-epj-demo [--base http://127.0.0.1:5000] [--scope "system/Patient.rs"]

Signs a client assertion (private_key_jwt) with the private key in the JWK file, sends it
to the token endpoint and prints the access token. The keys in docs/api-demo/ belong to the
demo's clients and are for development only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

import requests
from joserfc import jwt
from joserfc.jwk import JWKRegistry

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def token_request(key_file: str, client_id: str, token_url: str, scope: str | None) -> dict:
    """The form of a client-credentials request, its assertion signed with the key."""
    key = JWKRegistry.import_key(json.loads(Path(key_file).read_text()))
    alg = key.get("alg") or "ES256"
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": jwt.encode({"alg": alg, "kid": key.kid}, claims, key),
    }
    if scope:
        form["scope"] = scope
    return form


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("key_file")
    parser.add_argument("client_id")
    parser.add_argument("--base", default="http://127.0.0.1:5000")
    parser.add_argument("--scope")
    args = parser.parse_args(argv)
    token_url = args.base.rstrip("/") + "/oauth/token"
    response = requests.post(
        token_url,
        data=token_request(args.key_file, args.client_id, token_url, args.scope),
        timeout=10,
    )
    if response.status_code != 200:
        print(f"{response.status_code}: {response.text}", file=sys.stderr)
        return 1
    print(response.json()["access_token"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
