"""Object storage for uploaded originals: a local folder or an S3-compatible bucket."""
