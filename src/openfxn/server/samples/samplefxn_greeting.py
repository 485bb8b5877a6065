"""Greet someone, the way the 2023 platform's first-run sample did."""


def predict(name: str, age: int | None = None, city: str | None = None) -> str:
    """Greet someone by name, and say what you know of them.

    Args:
        name: Who to greet.
        age: How old they are, if you want it said.
        city: Where they live, if you want it said.

    Returns:
        The greeting.
    """
    greeting = f"Hello, {name}!"
    if age is not None:
        greeting += f" You are {age}."
    if city is not None:
        greeting += f" Greetings to {city}."
    return greeting
