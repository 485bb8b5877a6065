"""Predictors: their sources, signatures and provisioning."""
