"""Credentials: password hashing (Argon2id), signing keys and JWTs (joserfc), secret digests."""
