"""Fixtures of the broker tests: fake source services under the test's random names."""
import pytest

from onegrid.testing import FakeSource


@pytest.fixture
def fake_source(amqp_uri, tmp_path, unique):
    """``fake_source("grid")``: a FakeSource running as ``grid<unique>``, closed after the test."""
    made = []

    def make(logical: str) -> FakeSource:
        made.append(FakeSource(amqp_uri, tmp_path, f"{logical}{unique}"))
        return made[-1]
    yield make
    for fake in made:
        fake.close()
