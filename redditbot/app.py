"""Wires adapters → stages → scheduler for one bot process, with an explicit lifecycle.

``Bot(settings).start()`` checks the schema, takes the instance lock (SQLite), reconciles jobs
left in ``posting`` and releases stale leases, then lets the scheduler run the stages.
``stop()`` stops taking new work, waits for what is in flight up to a grace period, releases
what it can, and returns. ``run_cycle()`` runs every stage once, in pipeline order.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from redditbot.config import SchedulerSettings, Settings
from redditbot.domain import Clock, Generator, RedditGateway, Stage, Status, utcnow
from redditbot.errors import ConfigError, InstanceLocked
from redditbot.moderation.meaning import MeaningCache
from redditbot.observability.clock import ClockCheck
from redditbot.pipeline.generate import GenerateStage
from redditbot.pipeline.housekeeping import Housekeeping
from redditbot.pipeline.listen import Listener
from redditbot.pipeline.moderate import ModerateStage
from redditbot.pipeline.post import Poster, PosterLimits, PostPolicy, Sender
from redditbot.pipeline.select import Selector
from redditbot.pipeline.submit import POST_STAGES, post_stages
from redditbot.reddit.gateway import REQUEST_TRIES
from redditbot.scheduler import Scheduler
from redditbot.store import migrate, queries
from redditbot.store.engine import is_sqlite, make_engine, normalise_url, session_factory
from redditbot.store.models import Job, PollCursor, PostJob, ReplyJob

if TYPE_CHECKING:
    from redditbot.moderation import Moderator

log = logging.getLogger(__name__)

STAGE_ORDER = ("listen", "select", "generate", "moderate", "post", *POST_STAGES, "housekeeping")
# Names ``--stages`` also takes for several stages at once.
STAGE_GROUPS = {"submit": POST_STAGES}
# Who hands work to whom (``[scheduler] chain``): a run that handled something wakes these.
# Moderation sends a rejected draft back to be generated again.
HANDOVERS = (
    ("listen", "select"),
    ("select", "generate"),
    ("generate", "moderate"),
    ("moderate", "post"),
    ("moderate", "generate"),
    *zip(POST_STAGES, POST_STAGES[1:]),
    ("moderate_posts", "write_posts"),
)
JOB_MODELS: tuple[type[Job], ...] = (ReplyJob, PostJob)  # every table of things to write


def expand_stages(names: Iterable[str]) -> tuple[str, ...]:
    """Stage names with each group replaced by its stages, in the order given, once each;
    an unknown name is a ConfigError that lists the known ones."""
    expanded = [stage for name in names for stage in STAGE_GROUPS.get(name, (name,))]
    unknown = sorted(set(expanded) - set(STAGE_ORDER))
    if unknown or not expanded:
        known = [*STAGE_ORDER, *STAGE_GROUPS]
        raise ConfigError(f"--stages: unknown stage(s) {unknown}; choose from {known}")
    return tuple(dict.fromkeys(expanded))


def interval_of(intervals: SchedulerSettings, stage: str) -> float:
    """How often a stage runs: its own ``<stage>_interval``; the post stages share
    ``submit_interval``."""
    if stage in POST_STAGES:
        return intervals.submit_interval
    return getattr(intervals, f"{stage}_interval")


def instance_id() -> str:
    """Who holds a lease: host, process and a random tag (pids are reused after restarts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class InstanceLock:
    """One daemon per SQLite file: an exclusive ``flock`` that the kernel drops if we die."""

    def __init__(self, database_url: str) -> None:
        database = make_url(normalise_url(database_url)).database or ""
        self.path = Path(f"{database}.lock") if database not in ("", ":memory:") else None
        self._file: Any = None

    def acquire(self) -> None:
        if self.path is None:
            return
        self._file = self.path.open("w")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            self._file = None  # not held: release() (the caller's clean-up) has nothing to drop
            raise InstanceLocked(
                f"another redditbot is already running on {self.path.with_suffix('')}; "
                "SQLite supports one instance (use PostgreSQL to run several)"
            ) from None
        self._file.write(f"{os.getpid()}\n")
        self._file.flush()

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class Bot:
    """One bot process: its store, its Reddit account, its generator, its stages."""

    def __init__(
        self,
        settings: Settings,
        *,
        gateway: RedditGateway | None = None,
        generator: Generator | None = None,
        clock: Clock = utcnow,
        on_error: Callable[[str, BaseException], None] | None = None,
        model_cache: Any = None,
        own_lock: bool = True,
    ) -> None:
        self.settings, self.clock = settings, clock
        self.owner = instance_id()
        self.account = settings.account_name
        self.engine = make_engine(settings.database.url, echo=settings.database.echo)
        self.sessions = session_factory(self.engine)
        self.single_instance = is_sqlite(settings.database.url)
        self.lock = (
            InstanceLock(settings.database.url) if self.single_instance and own_lock else None
        )
        self._gateway, self._generator, self._model_cache = gateway, generator, model_cache
        self._moderators: dict[str, Moderator] = {}
        self._moderators_lock = threading.Lock()
        self._meaning = MeaningCache()  # one embedding model for every subreddit's Moderator
        self.scheduler = Scheduler(on_error or self._log_error)
        self.stages: dict[str, Stage] = {}
        self.senders: tuple[Sender[Any, Any], ...] = ()  # reconciled at start-up
        self.started = self.draining = False
        self.clock_check: ClockCheck | None = None
        self.running_stages: tuple[str, ...] = ()

    # ------------------------------------------------------------------ adapters

    @property
    def gateway(self) -> RedditGateway:
        if self._gateway is None:
            from redditbot.reddit.gateway import PrawGateway

            self.settings.require_reddit_credentials()
            self._gateway = PrawGateway(self.settings.reddit, dry_run=self.settings.dry_run)
        return self._gateway

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            from redditbot.generation.factory import ModelCache, build_generator

            self._generator = build_generator(
                self.settings.model,
                self._model_cache if self._model_cache is not None else ModelCache(),
            )
        return self._generator

    def embedder(self) -> Any:
        """The sentence-embedding model for reranking (loaded on first use), or None if off."""
        if not self.settings.quality.enabled:
            return None
        from redditbot.quality import build_embedder

        return build_embedder(self.settings.quality)

    def moderator_for(self, subreddit: str) -> Moderator:
        """One Moderator per subreddit (its merged settings), built on first use."""
        from redditbot.moderation import Moderator

        key = subreddit.lower()
        with self._moderators_lock:
            if key not in self._moderators:
                settings = self.settings.moderation_for(subreddit)
                meaning = self._meaning.get(settings.meaning)
                self._moderators[key] = Moderator(settings, meaning=meaning)
            return self._moderators[key]

    # ------------------------------------------------------------------ stages

    def build_stages(self) -> dict[str, Stage]:
        s, sessions, clock, owner = self.settings, self.sessions, self.clock, self.owner
        bot_username = s.reddit.username or self.account
        job_lease = timedelta(seconds=s.scheduler.job_lease)
        self.clock_check = ClockCheck(
            sessions,
            self.gateway,
            account=self.account,
            clock=clock,
            instance=owner,
            max_skew=timedelta(seconds=s.scheduler.max_clock_skew),
        )
        in_flight = timedelta(seconds=s.reddit.timeout * REQUEST_TRIES)
        feed_lease = timedelta(seconds=s.scheduler.feed_lease)
        listener = Listener(
            self.gateway,
            sessions,
            account=self.account,
            bot_username=bot_username,
            subreddits=[sub.name for sub in s.subreddits],
            clock=clock,
            owner=owner,
            lease=feed_lease,
            dry_run=s.dry_run_for,
        )
        poster = Poster(
            self.gateway,
            sessions,
            account=self.account,
            bot_username=bot_username,
            policy=self.post_policy,
            owner=owner,
            clock=clock,
            limits=PosterLimits(lease=job_lease, in_flight=in_flight),
        )
        posts = post_stages(
            self.gateway,
            sessions,
            s,
            self.generator,
            account=self.account,
            owner=owner,
            moderator_for=self.moderator_for,
            policy=self.post_policy,
            clock=clock,
            lease=job_lease,
            in_flight=in_flight,
        )
        self.senders = (poster, posts.send_posts)
        self.stages = {
            "listen": listener,
            "select": Selector(
                sessions,
                s,
                account=self.account,
                bot_usernames=frozenset({bot_username}),
                moderator_for=self.moderator_for,
                clock=clock,
                owner=owner,
                lease=feed_lease,
            ),
            "generate": GenerateStage(
                sessions,
                s,
                self.generator,
                account=self.account,
                owner=owner,
                batch=self._batch_size(),
                clock=clock,
                lease=job_lease,
                continuous=s.generation.continuous,
                rows=s.generation.rows,
                poll=s.generation.poll_interval,
            ),
            "moderate": ModerateStage(
                sessions,
                s,
                account=self.account,
                owner=owner,
                embedder=self.embedder(),
                moderator_for=self.moderator_for,
                clock=clock,
                lease=job_lease,
            ),
            "post": poster,
            **posts.by_name(),
            "housekeeping": Housekeeping(
                self.gateway,
                sessions,
                s,
                account=self.account,
                clock=clock,
                refresh=listener.refresh,
                release_stale_leases=self.release_stale_leases,
            ),
        }
        return self.stages

    def _batch_size(self) -> int:
        return int(getattr(self.settings.model, "batch_size", 16))

    def post_policy(self, subreddit: str) -> PostPolicy:
        return PostPolicy(
            dry_run=self.settings.dry_run_for(subreddit),
            footer=self.settings.footer_for(subreddit),
        )

    # ------------------------------------------------------------------ lifecycle

    def prepare(self) -> None:
        """Everything start-up does before the first stage runs."""
        migrate.require_current_schema(self.engine)
        for warning in self.settings.disclosure_warnings():
            log.warning("%s", warning)
        if self.lock:
            self.lock.acquire()
        self.build_stages()
        if self.single_instance:  # we hold the instance lock: any other holder is dead
            self.release_feed_leases(everyone=True)
            self.release_dead_job_leases()
        self.release_stale_leases(everyone=self.single_instance)
        settled = sum(s.reconcile(stale_only=not self.single_instance) for s in self.senders)
        if settled:
            log.info("reconciled %d job(s) left in posting", settled)

    def start(self, stages: Sequence[str] = STAGE_ORDER) -> None:
        """Prepare, then run ``stages`` (default: all; groups such as ``submit`` expanded) on
        their intervals in the background."""
        stages = expand_stages(stages)
        self.prepare()
        self.running_stages = stages
        if "generate" in stages:
            self.warm_up()
        if {"select", "moderate", "moderate_posts"} & set(stages):
            self.warm_up_moderation()
        intervals = self.settings.scheduler
        for name in stages:
            self.scheduler.add(name, self.stages[name].run_once, interval_of(intervals, name))
        if "generate" in stages:  # continuous: a run looks at the queue until the next one
            generate = self.stages["generate"]
            generate.linger = max(0.0, interval_of(intervals, "generate") - 2 * generate.poll)
        if intervals.chain:
            self.chain(stages)
        # the scheduler runs it at once (start-up), then every clock_check_interval
        self.scheduler.add("clock_check", self.clock_check.run_once, intervals.clock_check_interval)
        self.scheduler.start()
        self.started = True
        log.info("redditbot started as %s (account %s)", self.owner, self.account)

    def chain(self, stages: Sequence[str]) -> None:
        """Wake each stage that this process runs as soon as the one before it hands it work
        (``HANDOVERS``); a continuous generate stage wakes moderation at each draft, not at the
        end of its run, and a run of it in progress takes new jobs when woken, not at its next
        poll."""
        for upstream, downstream in HANDOVERS:
            if upstream in stages and downstream in stages:
                self.scheduler.chain(upstream, downstream)
        if "generate" in stages:  # a continuous run in progress claims new jobs at once
            self.scheduler.on_wake("generate", self.stages["generate"].wake)
        if "generate" in stages and "moderate" in stages:
            self.stages["generate"].on_drafted = lambda: self.scheduler.wake("moderate")

    @property
    def clock_problems(self) -> list[str]:
        """What the last clock check found wrong with this host's clock (empty: nothing)."""
        return self.clock_check.problems if self.clock_check else []

    def warm_up(self) -> None:
        """Load every model the configuration names, once, before the first job needs it."""
        load = getattr(self.generator, "generator_for", None)
        if load is None:  # a remote backend: nothing to load here
            return
        names = {self.settings.model.name}
        names |= {self.settings.model_for(sub.name).name for sub in self.settings.subreddits}
        for name in sorted(names):
            log.info("loading model %s", name)
            load(name)

    def warm_up_moderation(self) -> None:
        """Load every subreddit's moderation models before the stages that judge inside a
        transaction run: a first load there would hold other stages' writes back meanwhile."""
        for subreddit in self.settings.subreddits:
            self.moderator_for(subreddit.name).warm_up()

    def run_cycle(self, stages: Sequence[str] = STAGE_ORDER) -> dict[str, int]:
        """Run every stage (or those of ``stages``) once, in pipeline order, through the error
        handler."""
        stages = expand_stages(stages)
        if not self.stages:
            self.prepare()
        handled = {}
        for name in (name for name in STAGE_ORDER if name in stages):
            if name not in self.scheduler:
                self.scheduler.add(name, self.stages[name].run_once)  # run only when asked
            handled[name] = self.scheduler.run_now(name)
        return handled

    def stop(self, grace: float = 30.0) -> bool:
        """Stop taking work, wait up to ``grace`` s for running stages; True if all finished."""
        self.draining = True
        finished = True
        deadline = time.monotonic() + grace
        generate = self.stages.get("generate")
        if generate is not None:
            generate.drain(timeout=0)  # claims nothing more; what is in flight goes on
        if self.scheduler.running:
            self.scheduler.pause()
            waiter = threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True})
            waiter.start()
            waiter.join(grace)
            finished = not waiter.is_alive()
        if generate is not None:  # a run may have left jobs in flight (RUN_LIMIT_S)
            finished = generate.drain(timeout=max(0.0, deadline - time.monotonic())) and finished
        if self.stages:  # only stages take leases (and a schema that is behind has no stages)
            self.release_own_leases()
        if self.lock:
            self.lock.release()
        self.engine.dispose()
        log.info("redditbot stopped (%s)", "drained" if finished else "grace period ran out")
        return finished

    # ------------------------------------------------------------------ leases

    def release_stale_leases(self, *, everyone: bool = False) -> int:
        """Jobs of every kind stuck in ``generating`` go back to ``queued``: those whose lease
        ran out, or, at start-up on SQLite (``everyone``), all of them: they belong to a dead
        process."""
        now = self.clock()
        with self.sessions.begin() as session:
            return sum(
                queries.requeue_stuck_generating(
                    session,
                    model,
                    account=self.account,
                    now=now,
                    reason="lease_released",
                    everyone=everyone,
                )
                for model in JOB_MODELS
            )

    def release_feed_leases(self, *, everyone: bool) -> None:
        """Hand back feed and selector leases: ours on shutdown, all at start-up on SQLite."""
        query = update(PollCursor).where(PollCursor.account == self.account)
        if not everyone:
            query = query.where(PollCursor.lease_owner == self.owner)
        with self.sessions.begin() as session:
            session.execute(query.values(lease_owner=None, lease_expires_at=None))

    def release_dead_job_leases(self) -> None:
        """SQLite start-up: all job leases, of every kind, are a dead process's (``posting``
        gets reconciled)."""
        with self.sessions.begin() as session:
            for model in JOB_MODELS:
                session.execute(
                    update(model)
                    .where(
                        model.account == self.account,
                        model.lease_owner.is_not(None),
                        model.status != Status.POSTING,
                    )
                    .values(lease_owner=None, lease_expires_at=None)
                )

    def release_own_leases(self) -> None:
        """On shutdown: hand back leased work of every kind that has not started (never
        ``posting``)."""
        self.release_feed_leases(everyone=False)
        now = self.clock()
        with self.sessions.begin() as session:
            for model in JOB_MODELS:
                for job in session.scalars(select(model).where(model.lease_owner == self.owner)):
                    if job.status == Status.GENERATING:
                        queries.move(job, Status.QUEUED, now=now, reason="released_on_shutdown")
                    elif job.status != Status.POSTING:
                        job.lease_owner = job.lease_expires_at = None

    def _log_error(self, stage: str, exc: BaseException) -> None:
        log.error("stage %s failed: %s: %s", stage, type(exc).__name__, exc, exc_info=exc)
        try:
            with self.sessions.begin() as session:
                queries.record_event(
                    session,
                    "stage_error",
                    f"{stage}: {type(exc).__name__}: {exc}",
                    now=self.clock(),
                    level="error",
                    account=self.account,
                )
        except Exception as store_exc:  # the store itself may be what failed
            log.error("could not record the error: %s", store_exc)


class Fleet:
    """Every configured account's Bot in one process: one store, one lock, one model cache.

    Two accounts that use the same model share one loaded copy (the cache is keyed by model).
    """

    def __init__(self, settings: Settings, **bot_options: Any) -> None:
        from redditbot.generation.factory import ModelCache

        self.settings = settings
        url = settings.database.url
        self.lock = InstanceLock(url) if is_sqlite(url) else None
        cache = ModelCache()
        self.bots = [
            Bot(settings.for_account(name), model_cache=cache, own_lock=False, **bot_options)
            for name in settings.account_names()
        ]

    def prepare(self) -> None:
        if self.lock:
            self.lock.acquire()
        for bot in self.bots:
            bot.prepare()

    def start(self, stages: Sequence[str] = STAGE_ORDER) -> None:
        if self.lock:
            self.lock.acquire()
        for bot in self.bots:
            bot.start(stages)

    def run_cycle(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for bot in self.bots:
            for stage, handled in bot.run_cycle().items():
                totals[stage] = totals.get(stage, 0) + handled
        return totals

    def stop(self, grace: float = 30.0) -> bool:
        """Stop every bot (each gets the grace period); True if all drained."""
        drained = all([bot.stop(grace) for bot in self.bots])
        if self.lock:
            self.lock.release()
        return drained
