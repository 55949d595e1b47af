"""Generate: turn queued jobs into drafts, and record everything that produced them.

Two ways to feed the generator. *Fixed batches*: each run claims up to ``batch`` jobs and
generates them in one call, so a job claimed after it waits for the whole batch. *Continuous*
(``[generation] continuous``): each claimed job is its own ``generate`` call on a worker thread,
and while any are in flight the run looks at the queue every ``poll`` seconds and claims more
into the free row budget; with the transformers backend their rows join the running batch
between decoding steps, and each draft is stored as soon as its own rows are done. Claims,
leases and state transitions are the same either way: the store is the queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from redditbot.config import Settings
from redditbot.domain import Clock, Generation, GenerationRequest, Generator, Status, utcnow
from redditbot.errors import ConfigError, PartialGenerationError
from redditbot.pipeline.context import load_target, thread_context
from redditbot.pipeline.drafting import reply_request
from redditbot.quality.fewshot import stored_examples, stored_reply_lengths
from redditbot.quality.voice import length_budget
from redditbot.store import queries
from redditbot.store.models import GenerationRow, Job, ReplyJob

log = logging.getLogger(__name__)

RUN_LIMIT_S = 60.0
"""Continuous: a run stops claiming and returns after this long, its jobs still in flight (the
next run takes them over), so the stage's counters move under a steady load too."""


def generation_count(session: Session, job_id: int) -> int:
    """How many times a job has been generated (each try counts toward its budget)."""
    query = select(func.count()).select_from(GenerationRow).where(GenerationRow.job_id == job_id)
    return session.scalar(query) or 0


class GenerateStage:
    """The generate stage; ``run_once()`` drafts one batch of queued jobs, or, ``continuous``,
    the queued jobs as they come (within ``rows`` rows in flight) until none is left."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        generator: Generator,
        *,
        account: str,
        owner: str,
        batch: int = 16,
        lease: timedelta = timedelta(minutes=15),
        max_failures: int = 3,
        clock: Clock = utcnow,
        continuous: bool = False,
        rows: int | None = None,
        poll: float = 0.5,
    ) -> None:
        self.sessions, self.settings, self.generator, self.clock = (
            sessions,
            settings,
            generator,
            clock,
        )
        self.account, self.owner = account, owner
        self.batch, self.lease, self.max_failures = batch, lease, max_failures
        self.continuous, self.rows, self.poll = continuous, rows or batch, poll
        # continuous: seconds a run goes on looking at the queue with nothing in flight (the
        # daemon sets its interval, so the stage claims a job within ``poll`` of its arrival
        # rather than at its next run; 0, as in a one-off run, ends a run when it is idle)
        self.linger = 0.0
        self.on_drafted: Callable[[], None] | None = None  # after each commit that stored drafts
        self._in_flight: dict[Future, tuple[int, int]] = {}  # a job's generation → (id, rows)
        self._pool: ThreadPoolExecutor | None = None
        self._draining = threading.Event()
        self._lock = threading.Lock()
        self._woken: Future = Future()  # resolved by wake(): a run's next look comes at once

    def run_once(self) -> int:
        if self.continuous:
            return self._run_continuous()
        jobs, requests = self._claim(self.batch)
        if not jobs:
            return 0
        return self._generate(jobs, requests)

    def wake(self) -> None:
        """Continuous: new jobs are queued; a run in progress looks at the queue now rather
        than at its next poll. Safe from any thread."""
        with self._lock:
            if not self._woken.done():
                self._woken.set_result(None)

    def drain(self, timeout: float | None = None) -> bool:
        """Claim nothing more; wait up to ``timeout`` s for the jobs in flight (True: none left)."""
        with self._lock:
            self._draining.set()
            in_flight = list(self._in_flight)
        self.wake()  # a lingering run ends at once
        if wait(in_flight, timeout=timeout).not_done:
            return False
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        return True

    def _run_continuous(self) -> int:
        """Claim into the free row budget whenever there is room, until nothing is in flight.

        A job whose generation failed is not claimed again in the same run: it is retried at
        the next run, as it would be after a fixed batch."""
        started = time.monotonic()
        deadline, done, failed, error = started + RUN_LIMIT_S, 0, set(), None
        while True:
            free = self.rows - sum(rows for _, rows in self._in_flight.values())
            if free > 0 and error is None and not self._draining.is_set():
                self._dispatch(free, failed)
            now = time.monotonic()
            over = now >= started + self.linger or error is not None or self._draining.is_set()
            if now > deadline or (not self._in_flight and over):
                break
            # the next look at the queue: after ``poll`` s, when a job ends, or when woken
            woken = self._woken
            finished, _ = wait([*self._in_flight, woken], self.poll, return_when=FIRST_COMPLETED)
            if woken in finished:
                with self._lock:
                    self._woken = Future()
            for future in finished - {woken}:
                with self._lock:
                    job_id, _ = self._in_flight.pop(future)
                try:
                    drafted = future.result()
                except Exception as exc:  # e.g. the model is missing: no more claims this run
                    drafted, error = 0, error or exc
                if not drafted:
                    failed.add(job_id)
                done += drafted
        if error is not None:
            raise error
        return done

    def _dispatch(self, free: int, failed: set[int]) -> None:
        """Claim up to ``free`` rows' worth of jobs; each one's generation starts at once."""
        per_job = max(1, self.settings.model.candidates)
        # a job back in the queue after a failure, whose generation has not yet been seen to end
        # (or has, in this run), stays where it is until the next run
        skip = failed | {job_id for job_id, _ in self._in_flight.values()}
        extra = (ReplyJob.id.not_in(skip),) if skip else ()
        jobs, requests = self._claim(max(1, free // per_job), extra)
        with self._lock:  # what drain() waits for is in flight before it can start
            if self._draining.is_set():  # drain() came while we claimed: hand them back
                self._release(jobs, count_failure=False)
                return
            if jobs and self._pool is None:
                self._pool = ThreadPoolExecutor(self.rows, thread_name_prefix="generate")
            for job, request in zip(jobs, requests, strict=True):
                future = self._pool.submit(self._generate, [job], [request])
                self._in_flight[future] = (job.id, max(1, request.params.n))

    def _generate(self, jobs: list[ReplyJob], requests: list[GenerationRequest]) -> int:
        """Generate ``jobs`` in one call and store what came of it; how many were drafted."""
        return generate_guarded(
            self.generator,
            jobs,
            requests,
            store=self._store,
            release=lambda jobs, reason: self._release(
                jobs, count_failure=reason is not None, reason=reason or ""
            ),
        )

    def _claim(self, limit: int, extra=()) -> tuple[list[ReplyJob], list[GenerationRequest]]:
        now = self.clock()
        with self.sessions.begin() as session:
            jobs = queries.claim_jobs(
                session, account=self.account, status=Status.QUEUED, owner=self.owner, now=now,
                lease=self.lease, limit=limit, first=(queries.conversations_first(),),
                extra=extra,
            )  # fmt: skip
            jobs = [job for job in jobs if self._still_answerable(session, job, now)]
            requests = [self._request(session, job) for job in jobs]
            for job in jobs:
                queries.move(job, Status.GENERATING, now=now, keep_lease=True)
        return jobs, requests

    @staticmethod
    def _still_answerable(session: Session, job: ReplyJob, now) -> bool:
        """A target deleted, removed or locked since it was selected is skipped, not drafted."""
        target = load_target(session, job.target_fullname)
        gone = target and next(
            (flag for flag in ("deleted", "removed", "locked") if getattr(target, flag)), None
        )
        if gone:
            queries.move(job, Status.SKIPPED, now=now, reason=f"target_{gone}")
        return not gone

    def _request(self, session: Session, job: ReplyJob) -> GenerationRequest:
        # Reproducible per job and try, with new candidates on each regeneration.
        context = thread_context(session, job.target_fullname, job.subreddit)
        return reply_request(
            self.settings, str(job.id), context, few_shot=self._few_shot(session, job),
            seed=job.id * 1000, tries=generation_count(session, job.id),
            max_new_tokens=self._budget(session, job.subreddit),
        )  # fmt: skip

    def _budget(self, session: Session, subreddit: str) -> int | None:
        """The subreddit's reply length budget from its stored human replies (None: none)."""
        quality = self.settings.quality
        if not (quality.enabled and quality.length_budget):
            return None
        return length_budget(stored_reply_lengths(session, subreddit))

    def _few_shot(self, session: Session, job: ReplyJob) -> tuple:
        quality = self.settings.quality
        if not quality.enabled:
            return ()
        return stored_examples(
            session, job.subreddit, count=quality.few_shot,
            max_chars=quality.few_shot_max_chars, exclude_link=job.link_fullname,
        )  # fmt: skip

    def _store(
        self,
        jobs: list[ReplyJob],
        generations: list[Generation],
        failures: dict[str, Exception] | None = None,
    ) -> None:
        now = self.clock()
        by_key = {g.key: g for g in generations}
        failures = failures or {}
        drafted = 0
        with self.sessions.begin() as session:
            for job in jobs:
                row = session.get(ReplyJob, job.id)
                if (row.status, row.lease_owner) != (Status.GENERATING, self.owner):
                    log.warning("job %s was taken from us while generating; draft dropped", job.id)
                    continue
                if str(job.id) in failures:
                    self._retry_or_fail(row, now, error_reason(failures[str(job.id)]))
                    continue
                generation = by_key.get(str(job.id))
                if generation is None or not generation.candidates:
                    self._retry_or_fail(row, now, "generation_empty")
                    continue
                session.add(generation_row(job.id, generation, now))
                queries.move(row, Status.DRAFTED, now=now)
                drafted += 1
        if drafted and self.on_drafted is not None:  # committed: what is woken can see them
            self.on_drafted()

    def _release(self, jobs: list[ReplyJob], *, count_failure: bool, reason: str = "") -> None:
        now = self.clock()
        with self.sessions.begin() as session:
            for job in jobs:
                row = session.get(ReplyJob, job.id)
                if count_failure:
                    self._retry_or_fail(row, now, reason)
                else:
                    queries.move(row, Status.QUEUED, now=now)

    def _retry_or_fail(self, row: ReplyJob, now, reason: str) -> None:
        row.attempts += 1
        if row.attempts >= self.max_failures:
            queries.move(row, Status.FAILED, now=now, reason=reason)
        else:
            queries.move(row, Status.QUEUED, now=now, reason=reason)


AnyJob = TypeVar("AnyJob", bound=Job)


def generate_guarded(
    generator: Generator,
    jobs: list[AnyJob],
    requests: list[GenerationRequest],
    *,
    store: Callable[[list[AnyJob], list[Generation], dict[str, Exception]], None],
    release: Callable[[list[AnyJob], str | None], None],
) -> int:
    """One ``generate`` call for ``jobs`` (replies or posts) and what came of it stored by
    ``store(jobs, generations, failures)``; how many were drafted.

    A missing model (ConfigError) is not the jobs' fault: ``release(jobs, None)``, then the error
    goes on to the error handler. Any other crash must not lose the jobs: ``release(jobs,
    reason)`` counts it against them. A partial failure keeps the drafts that were made."""
    try:
        generations = generator.generate(requests)
    except ConfigError:
        release(jobs, None)
        raise
    except PartialGenerationError as exc:  # keep the drafts made; retry only the failures
        log.warning("generation: %s", exc)
        store(jobs, exc.generations, exc.failures)
        return len(exc.generations)
    except Exception as exc:  # a model crash must not lose the jobs: recorded, retried
        log.exception("generation failed for jobs %s", [j.id for j in jobs])
        release(jobs, error_reason(exc))
        return 0
    store(jobs, generations, {})
    return len(jobs)


def error_reason(error: Exception) -> str:
    """A job's ``reason`` after its generation raised ``error``."""
    return f"generation_error:{type(error).__name__}"


def generation_row(job_id: int, generation: Generation, now) -> GenerationRow:
    """The audit record of one generation (``output``: the first candidate until moderated)."""
    candidates = [asdict(c) for c in generation.candidates]
    return GenerationRow(
        job_id=job_id, backend=generation.backend, model=generation.model_id,
        prompt=generation.prompt, parameters=dict(generation.params),
        output=generation.candidates[0].text, candidates=candidates,
        tokens_in=generation.tokens_in,
        tokens_out=sum(c.tokens_out for c in generation.candidates),
        latency_ms=round(generation.latency_s * 1000, 1), created_at=now,
    )  # fmt: skip
