"""The ``[observability]`` section of the settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ObservabilitySettings(BaseModel):
    """HTTP endpoints for probes and Prometheus; off unless asked for.

    Bound to localhost by default: the endpoints need no credentials, so exposing them
    (``host = "0.0.0.0"`` in a container) is a deliberate choice.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(9108, ge=0, le=65535)
    # The store's figures (jobs, replies, errors, queue age…) are the same on every instance
    # sharing a database: serve them from one (the daemon) so that sums do not count them twice.
    store_metrics: bool = True
