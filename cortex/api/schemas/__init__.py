"""msgspec wire types: inbound commands forbid unknown fields; outbound reads are plain Structs."""
