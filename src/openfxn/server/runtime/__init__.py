"""The predictor runtime: Python environments, launching predictor code, and
provisioning. Sandboxed warm workers for predictions join it later."""
