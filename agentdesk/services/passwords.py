"""SCRAM-SHA-256 password verifiers, computed here so a clear-text password never reaches the server.

The format is PostgreSQL's: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> (RFC 5802/7677).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from agentdesk.domain.errors import ValidationError

ITERATIONS = 4096
MIN_LENGTH = 8


def check_password(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ValidationError("password", f"Passwords need at least {MIN_LENGTH} characters")


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    check_password(password)
    salt = salt or os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"
