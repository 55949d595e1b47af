"""Alembic environment: the URL comes from the bot (``redditbot db …``), not from an ini file."""

from alembic import context
from sqlalchemy import text

from redditbot.store.engine import is_sqlite, make_engine
from redditbot.store.models import Base

# An arbitrary constant, the same for every redditbot: "redditbt" as a big-endian 63-bit number.
LOCK_KEY = int.from_bytes(b"redditbt", "big") >> 1

config = context.config
# From `redditbot db …`, or `alembic -c migrations/alembic.ini -x url=…` when writing a revision.
url = (
    config.attributes.get("url")
    or context.get_x_argument(as_dictionary=True).get("url")
    or config.get_main_option("sqlalchemy.url")
)


def run_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=is_sqlite(url),  # SQLite alters tables by copying them
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Pods that start together (Kubernetes init containers) all run `db upgrade`:
                # one migrates, the others wait here, then find the schema current. The lock
                # ends with this transaction.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
