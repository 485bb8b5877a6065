"""Say hello: the smallest predictor there is."""


def predict(name: str, excited: bool = False) -> str:
    """Greet someone by name.

    Args:
        name: Who to greet.
        excited: End with an exclamation mark instead of a full stop.

    Returns:
        The greeting.
    """
    return f"Hello, {name}{'!' if excited else '.'}"
