"""Classroom mode's password: a teacher may require one to leave classroom mode. Only a salted
hash is kept in the project (PBKDF2-HMAC-SHA256), never the password."""

from __future__ import annotations

import hashlib
import hmac
import os

#: PBKDF2 rounds: slow enough that guessing from the file is work, quick to check (~50 ms).
ROUNDS = 100_000


def password_entry(password: str) -> dict:
    """What the project stores for `password`: {"salt": hex, "hash": hex, "rounds": n}."""
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, ROUNDS)
    return {"salt": salt.hex(), "hash": digest.hex(), "rounds": ROUNDS}


def password_matches(entry: dict | None, password: str) -> bool:
    """True if `password` is the one `entry` was made from (no entry: no password needed)."""
    if not entry:
        return True
    try:
        salt, expected = bytes.fromhex(entry["salt"]), bytes.fromhex(entry["hash"])
        rounds = int(entry.get("rounds", ROUNDS))
    except (KeyError, TypeError, ValueError):
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, rounds)
    return hmac.compare_digest(digest, expected)
