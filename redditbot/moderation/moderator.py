"""The Moderator: the two gates the pipeline calls, each returning a Verdict with every check."""

from __future__ import annotations

from redditbot.domain import CheckResult, Draft, Target, Verdict
from redditbot.moderation.classifiers import ToxicityClassifier, build_classifier
from redditbot.moderation.input_gate import InputGate, TargetState
from redditbot.moderation.meaning import MeaningClassifier, build_meaning
from redditbot.moderation.output_gate import OutputGate, ReplyState, ReplyView
from redditbot.moderation.patterns import (
    CHARACTER_BREAK_PATTERNS,
    INJECTION_PATTERNS,
    LEAK_PATTERNS,
    PhraseSet,
)
from redditbot.moderation.settings import ModerationSettings
from redditbot.moderation.verdicts import Check, decide, passed, run_check

_DEFAULT = object()


class Moderator:
    """Layered, fail-closed moderation for one set of settings (one subreddit's, say).

    ``classifier`` overrides the one the settings name (tests pass fakes; ``None`` turns the
    toxicity check off); ``meaning`` likewise for the meaning classifier (the daemon passes one
    shared by every subreddit, from a MeaningCache, so the embedding model loads once). A check
    that raises fails closed: the verdict rejects with the error.
    """

    def __init__(
        self,
        settings: ModerationSettings,
        *,
        classifier: ToxicityClassifier | object | None = _DEFAULT,
        meaning: MeaningClassifier | object | None = _DEFAULT,
    ) -> None:
        self.settings = settings
        injection = PhraseSet(INJECTION_PATTERNS)
        phrases = {
            "injection": injection,
            "leak": PhraseSet(LEAK_PATTERNS),
            "character": PhraseSet((*CHARACTER_BREAK_PATTERNS, *settings.leak.extra_phrases)),
        }
        if classifier is _DEFAULT:
            classifier = build_classifier(settings.toxicity)
        if meaning is _DEFAULT:
            meaning = build_meaning(settings.meaning)
        self._meaning = meaning
        self._input = InputGate(settings.input, injection, meaning)
        self._output = OutputGate(settings, classifier=classifier, phrases=phrases, meaning=meaning)

    def warm_up(self) -> None:
        """Load the meaning classifier now; otherwise its first use loads it, inside whatever
        transaction the stage holds (on SQLite, the write lock, for the seconds a load takes)."""
        if isinstance(self._meaning, MeaningClassifier):
            self._meaning.score(["warm-up"])

    def check_target(self, target: Target, state: TargetState) -> Verdict:
        """The input gate: REJECT means do not answer this target (reasons say why)."""
        return decide(self._run(self._input.checks(target, state)))

    def check_reply(self, draft: Draft, state: ReplyState) -> Verdict:
        """The output gate: APPROVE to post, REVIEW to hold for a person, REJECT to drop."""
        if not self.settings.enabled:
            return decide([passed("disabled")])
        return decide(self._run(self._output.checks(ReplyView.of(draft, state))))

    @staticmethod
    def _run(checks: list[tuple[str, Check]]) -> list[CheckResult]:
        return [result for name, check in checks for result in run_check(name, check)]
