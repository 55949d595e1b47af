"""Health probes and Prometheus metrics over HTTP: ``/healthz``, ``/readyz``, ``/metrics``.

``server.ObservabilityServer`` serves them; ``server.start_for_fleet`` wires one to the Bots of
every account in the process (``start_for_bot`` to one);
``health.HealthSource`` is what the server asks the bot; ``store_metrics`` reads the store.
Importing this package loads only the settings model (``redditbot.config`` imports it), not
SQLAlchemy or the server.
"""

from redditbot.observability.settings import ObservabilitySettings

__all__ = ["ObservabilitySettings"]
