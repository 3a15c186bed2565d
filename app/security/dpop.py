"""DPoP (RFC 9449): access tokens bound to a key the client holds, as an option.

A client that sends a DPoP proof to the token endpoint gets a token bound to the proof's key
(`cnf.jkt`, its RFC 7638 thumbprint) and must then send, with every call, the token as
`Authorization: DPoP <token>` and a fresh proof of that key for that call (method, address,
the token's hash). A stolen bound token is of no use without the key. A client that sends no
proof gets a bearer token, as before.

joserfc reads the proof's public key and computes its thumbprint; the checks of RFC 9449
section 4.3 are here. Each proof is used once: its `jti` is kept like an assertion's.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, RSAKey

PROOF_TYPE = "dpop+jwt"
# Asymmetric only (RFC 9449 4.2: never "none", never a MAC).
ALGORITHMS = ("ES256", "ES384", "RS256", "RS384", "PS256", "PS384")
# A proof is taken for this long after it was made (and a little before, for clock skew).
MAX_AGE_SECONDS = 300
LEEWAY_SECONDS = 30
JTI_MAX = 190  # kept with a prefix where assertions' jtis are kept (200)
PROOF_MAX = 8192
UNREADABLE = (JoseError, ValueError, TypeError, KeyError, RecursionError)


class InvalidProof(Exception):
    """A DPoP proof that is missing, malformed or not for this request."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass(frozen=True)
class Proof:
    jkt: str  # the key's thumbprint, which a bound token names
    jti: str
    expires_at: datetime  # when its jti may be forgotten


def token_hash(access_token: str) -> str:
    """`ath`: base64url of the SHA-256 of the access token, without padding."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _same_address(htu: object, url: str) -> bool:
    """The proof's `htu` names this request's address (query and fragment left out)."""
    if not isinstance(htu, str) or len(htu) > PROOF_MAX:
        return False
    given, actual = urlsplit(htu), urlsplit(url)
    return (given.scheme.lower(), given.netloc.lower(), unquote(given.path)) == (
        actual.scheme.lower(),
        actual.netloc.lower(),
        unquote(actual.path),
    )


def verify_proof(
    values: list[str],
    *,
    method: str,
    url: str,
    now: datetime,
    access_token: str | None = None,
) -> Proof:
    """The one DPoP header of a request, checked as RFC 9449 4.3 asks; InvalidProof says
    what is wrong. With `access_token`, the proof must name its hash (`ath`)."""
    if len(values) != 1:
        raise InvalidProof("exactly one DPoP header is needed")
    value = values[0].strip()
    if not value or len(value) > PROOF_MAX:
        raise InvalidProof("the DPoP proof is empty or too long")
    try:
        header = jws.extract_compact(value.encode()).headers()
    except UNREADABLE:
        raise InvalidProof("the DPoP proof is not a signed JWT") from None
    if header.get("typ") != PROOF_TYPE:
        raise InvalidProof(f"the DPoP proof's typ must be {PROOF_TYPE}")
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise InvalidProof(f"the DPoP proof's alg must be one of {', '.join(ALGORITHMS)}")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or "d" in jwk or jwk.get("kty") not in ("EC", "RSA"):
        raise InvalidProof("the DPoP proof's jwk must be a public EC or RSA key")
    try:
        key = JWKRegistry.import_key(jwk)
        if not isinstance(key, ECKey | RSAKey) or key.is_private:
            raise InvalidProof("the DPoP proof's jwk must be a public EC or RSA key")
        claims = jwt.decode(value, key, algorithms=[algorithm]).claims
        jkt = key.thumbprint()
    except UNREADABLE:
        raise InvalidProof("the DPoP proof's signature does not verify") from None
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= JTI_MAX:
        raise InvalidProof(f"the DPoP proof needs a jti of at most {JTI_MAX} characters")
    if claims.get("htm") != method:
        raise InvalidProof(f"the DPoP proof's htm must be {method}")
    if not _same_address(claims.get("htu"), url):
        raise InvalidProof(f"the DPoP proof's htu must be {url}")
    issued = claims.get("iat")
    moment = now.timestamp()
    if (
        not isinstance(issued, int)
        or isinstance(issued, bool)
        or not moment - MAX_AGE_SECONDS - LEEWAY_SECONDS <= issued <= moment + LEEWAY_SECONDS
    ):
        raise InvalidProof("the DPoP proof's iat must be now (within five minutes)")
    if access_token is not None and claims.get("ath") != token_hash(access_token):
        raise InvalidProof("the DPoP proof's ath must be the hash of this access token")
    expires = datetime.fromtimestamp(issued + MAX_AGE_SECONDS + LEEWAY_SECONDS, UTC)
    return Proof(jkt, jti, expires)


def thumbprint_claim(proof: Proof | None) -> dict[str, dict[str, str]]:
    """The `cnf` claim of a token bound to the proof's key (none without a proof)."""
    return {"cnf": {"jkt": proof.jkt}} if proof is not None else {}


def bound_key(claims: dict[str, object]) -> str | None:
    """The thumbprint a token is bound to, if it is."""
    confirmation = claims.get("cnf")
    if isinstance(confirmation, dict) and isinstance(confirmation.get("jkt"), str):
        return confirmation["jkt"]
    return None


def replay_key(proof: Proof) -> str:
    """How a proof's jti is kept with the client's used assertions (app/services/api_clients)."""
    return f"dpop:{proof.jti}"
