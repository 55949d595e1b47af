"""Alembic, driven from the bot's own code (``redditbot db upgrade|downgrade|check``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from redditbot.errors import SchemaError, StoreError, StoreUnavailable
from redditbot.store.engine import make_engine, session_factory
from redditbot.store.models import Base

# Inside the package, so that a wheel or a non-editable install can migrate its database.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and at ``url`` (no alembic.ini)."""
    if not (MIGRATIONS_DIR / "env.py").exists():
        raise StoreError(f"migrations not found at {MIGRATIONS_DIR}: the installation is broken")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "-1") -> None:
    """Step the schema down to ``revision`` (default: one step; ``base`` removes everything)."""
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise StoreUnavailable(f"cannot reach the database {_name(engine)}: {exc.orig}") from None


def schema_problems(url: str) -> list[str]:
    """Why the database does not match this version's models; empty when it does."""
    engine = make_engine(url)
    try:
        current, head = current_revision(engine), head_revision()
        if current != head:
            return [
                f"database is at revision {current or 'none'}, code expects {head}: "
                "run `redditbot db upgrade`"
            ]
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        return [f"models and migrations differ: {diff}" for diff in diffs]
    finally:
        engine.dispose()


def require_current_schema(engine: Engine) -> None:
    """Refuse to run on a schema that is behind (or ahead of) this version."""
    current, head = current_revision(engine), head_revision()
    if current is None:
        raise SchemaError(
            f"the database {_name(engine)} has no schema yet (this version needs revision "
            f"{head}): run `redditbot db upgrade` first"
        )
    if current != head:
        raise SchemaError(
            f"the database {_name(engine)} has its schema at {current} but this version needs "
            f"{head}: run `redditbot db upgrade` first"
        )


def current_sessions(url: str, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions on ``url`` once its schema is this version's; a clear error otherwise."""
    engine = make_engine(url, read_only=read_only)
    try:
        require_current_schema(engine)
    except StoreError:
        engine.dispose()
        raise
    return session_factory(engine)


def _name(engine: Engine) -> str:
    """The database as an operator knows it, password hidden."""
    return engine.url.render_as_string(hide_password=True)
