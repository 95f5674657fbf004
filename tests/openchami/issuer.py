"""A local token issuer: an RSA key, its JWKS on loopback, and RS256 access tokens.

The real services enable authentication when given a JWKS URL, then demand a JWT signed by a key
in that set carrying `sub`, `iss` and `aud`. This stands in for the OpenCHAMI deployment's OIDC
server (opaal/hydra) so the tests can give the services a real key and the client a real token.
"""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ochami_provider.sim.server import ThreadedServer

KEY_ID = "ochami-provider-tests"
AUDIENCE = "openchami"


class TokenIssuer:
    def __init__(self, issuer: str = "https://issuer.ochami-provider.test") -> None:
        self.issuer = issuer
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        # A second key the services never see: tokens it signs must be refused.
        self._stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._server = ThreadedServer(self._app(), name="token-issuer")
        self.url = ""

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        public.update({"kid": KEY_ID, "alg": "RS256", "use": "sig"})
        return {"keys": [public]}

    def token(self, *, lifetime: float = 3600, signed_by_stranger: bool = False) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": "ochami-provider",
            "aud": [AUDIENCE],
            "iat": now,
            "nbf": now,
            "exp": now + int(lifetime),
            "scope": ["smd.read", "smd.write", "bss.read", "bss.write", "cloud-init.admin"],
        }
        key = self._stranger if signed_by_stranger else self._key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KEY_ID})

    def _app(self) -> Starlette:
        async def keys(_: Request) -> JSONResponse:
            return JSONResponse(self.jwks())

        async def token(_: Request) -> JSONResponse:
            # The cloud-init server asks here for a token when it has to call SMD itself.
            return JSONResponse({"access_token": self.token(), "token_type": "Bearer"})

        return Starlette(
            routes=[
                Route("/keys", keys),
                Route("/.well-known/jwks.json", keys),
                Route("/token", token, methods=["GET", "POST"]),
            ]
        )

    @property
    def jwks_url(self) -> str:
        return self.url + "/keys"

    def start(self) -> str:
        self.url = self._server.start()
        return self.url

    def stop(self) -> None:
        self._server.stop()
