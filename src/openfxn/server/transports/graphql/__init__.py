"""The GraphQL transport: the schema in ``schema.graphql``, executed by graphql-core."""
