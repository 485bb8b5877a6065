def predict(name: str) -> str:
    return f"Hello, {name}!"
