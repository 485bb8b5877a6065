"""Authentication: access keys, Authorization headers, and the caller."""
