"""Sample predictors that ``openfxn serve --demo`` publishes under ``@demo``."""
