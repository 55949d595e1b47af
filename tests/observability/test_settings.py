"""The [observability] settings section."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from redditbot.observability import ObservabilitySettings


def test_off_and_local_by_default() -> None:
    settings = ObservabilitySettings()

    assert (settings.enabled, settings.host, settings.port) == (False, "127.0.0.1", 9108)


@pytest.mark.parametrize("values", [{"port": 70000}, {"port": -1}, {"host": ""}, {"prot": 1}])
def test_mistakes_are_refused(values: dict) -> None:
    with pytest.raises(ValidationError):
        ObservabilitySettings(**values)
