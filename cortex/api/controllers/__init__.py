"""One Litestar Controller per resource."""
