"""What a password must be: at least 12 characters, not a common password, not the username."""

from __future__ import annotations

from cortex.domain.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 256

# Long enough to pass the length rule, and still among the first guesses of any attacker.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123456789abc",
        "1q2w3e4r5t6y",
        "qwertyuiop12",
        "qwertyuiopas",
        "qwerty123456",
        "password1234",
        "password12345",
        "passwordpassword",
        "iloveyou1234",
        "letmein12345",
        "welcome12345",
        "adminadmin12",
        "administrator",
        "changeme1234",
        "aaaaaaaaaaaa",
        "abcdefghijkl",
        "abc123abc123",
        "111111111111",
        "000000000000",
        "football1234",
        "baseball1234",
        "monkey123456",
        "dragon123456",
        "sunshine1234",
        "princess1234",
        "trustno1trustno1",
        "superman1234",
        "correcthorsebatterystaple",
        "p@ssw0rd1234",
        "passw0rd1234",
        "qazwsxedcrfv",
        "1qaz2wsx3edc",
        "zaq12wsxcde3",
        "asdfghjkl123",
        "zxcvbnm12345",
        "masterkey123",
    }
)


def check_password(password: str, *, username: str, field: str = "password") -> None:
    """Raise InvalidInput unless the password meets the policy."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(field, f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(field, f"must be at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) <= 2:
        raise InvalidInput(field, "is too common; choose another")
    if username and username.lower() in lowered:
        raise InvalidInput(field, "must not contain the username")
