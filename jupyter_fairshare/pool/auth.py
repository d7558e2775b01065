"""Tokens: shown once at creation, stored only as a SHA-256 hash.

A token is 32 random bytes, so a fast hash is enough: there is nothing to brute-force
that a slow password hash would protect, and every API call pays for the hash.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "fs_"


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
