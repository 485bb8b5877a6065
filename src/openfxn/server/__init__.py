"""The openfxn server: transports over one service layer over one store.

``transports`` (REST and GraphQL) translate HTTP into calls on ``services``;
``services`` hold every operation once, with typed inputs and outputs and no
HTTP; ``store`` owns the database; ``auth`` turns a request's credential into
the caller that services act for.
"""
