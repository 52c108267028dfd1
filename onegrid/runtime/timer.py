"""A timer whose interval is the service's config, so a test or a deployment can change it."""
from __future__ import annotations

from nameko.timer import Timer as NamekoTimer


class Timer(NamekoTimer):
    """nameko's timer, its interval read from the container's config at setup."""

    def __init__(self, interval, config_key: str, **kwargs):
        super().__init__(interval, **kwargs)
        self.config_key = config_key

    def setup(self):
        self.interval = float(self.container.config.get(self.config_key, self.interval))


def timer(config_key: str, default: float):
    """``@timer("TICKETS_OVERDUE_SECONDS", 30)``: every ``config[config_key]`` s, else ``default``."""
    return Timer.decorator(interval=default, config_key=config_key)
