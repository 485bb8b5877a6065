"""Transports: REST and GraphQL, thin translations of HTTP into service calls."""
