import time


def predict() -> str:
    time.sleep(0.05)
    return "slept"
