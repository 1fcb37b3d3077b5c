"""The model consulted before the write transaction, its answers replayed inside it.

The optional model (:class:`.llm.LlmAdapter`) is a network call of up to its
timeout, twice per text when wording is on. Inside the inbound write transaction
that call would hold the database write lock — on SQLite the one lock every
STOP, receipt and hand-off waits for — for seconds. So the caller runs the
engine once *before* the transaction, on a read-only view of the conversation,
with a :class:`RecordingNlu` that asks the model and keeps each answer
(:class:`NluAnswers`); the transaction then runs the engine again with
:meth:`NluAnswers.replay`, which answers from that record and never calls out.

A question the record does not hold — the conversation moved on between the two
runs (another text, a staff takeover, a new appointment) and the engine asks
something else — gets no answer, exactly like a failed model call: the engine
stays on its deterministic path, and the note says why. The model's answer is
only ever used for the question it was asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from frontdesk.receptionist.llm import NluResult

__all__ = ["NOT_CONSULTED", "Nlu", "NluAnswers", "RecordingNlu", "ReplayNlu"]

NOT_CONSULTED = "not consulted: the conversation changed before the reply"

_ClassifyKey = tuple[str, datetime, str, str, str]
_WordKey = tuple[str, tuple[tuple[str, str], ...], datetime, str, str]


class Nlu(Protocol):
    """What the engine asks of a model: :class:`.llm.LlmAdapter` and the two below."""

    @property
    def wording(self) -> bool: ...

    @property
    def last_error(self) -> str | None: ...

    def classify(
        self,
        text: str,
        *,
        now: datetime,
        language: str = "en",
        state: str = "idle",
        business_name: str = "the business",
    ) -> NluResult | None: ...

    def word(
        self,
        draft: str,
        *,
        facts: Mapping[str, str],
        now: datetime,
        language: str = "en",
        business_name: str = "the business",
    ) -> str | None: ...


def _word_key(
    draft: str, facts: Mapping[str, str], now: datetime, language: str, business_name: str
) -> _WordKey:
    return (draft, tuple(sorted(facts.items())), now, language, business_name)


@dataclass
class NluAnswers:
    """The model's answers, each with the error it reported, by the exact question."""

    wording: bool = False
    classified: dict[_ClassifyKey, tuple[NluResult | None, str | None]] = field(
        default_factory=dict
    )
    worded: dict[_WordKey, tuple[str | None, str | None]] = field(default_factory=dict)

    def replay(self) -> ReplayNlu:
        return ReplayNlu(self)

    def __len__(self) -> int:
        return len(self.classified) + len(self.worded)


class RecordingNlu:
    """Asks the real model and records each question with its answer."""

    def __init__(self, inner: Nlu) -> None:
        self.inner = inner
        self.answers = NluAnswers(wording=inner.wording)

    @property
    def wording(self) -> bool:
        return self.inner.wording

    @property
    def last_error(self) -> str | None:
        return self.inner.last_error

    def classify(
        self,
        text: str,
        *,
        now: datetime,
        language: str = "en",
        state: str = "idle",
        business_name: str = "the business",
    ) -> NluResult | None:
        result = self.inner.classify(
            text, now=now, language=language, state=state, business_name=business_name
        )
        key = (text, now, language, state, business_name)
        self.answers.classified[key] = (result, self.inner.last_error)
        return result

    def word(
        self,
        draft: str,
        *,
        facts: Mapping[str, str],
        now: datetime,
        language: str = "en",
        business_name: str = "the business",
    ) -> str | None:
        text = self.inner.word(
            draft, facts=facts, now=now, language=language, business_name=business_name
        )
        key = _word_key(draft, facts, now, language, business_name)
        self.answers.worded[key] = (text, self.inner.last_error)
        return text


class ReplayNlu:
    """Answers from a record; never calls a model."""

    def __init__(self, answers: NluAnswers) -> None:
        self.answers = answers
        self._last_error: str | None = None

    @property
    def wording(self) -> bool:
        return self.answers.wording

    @property
    def last_error(self) -> str | None:
        return self._last_error

    def classify(
        self,
        text: str,
        *,
        now: datetime,
        language: str = "en",
        state: str = "idle",
        business_name: str = "the business",
    ) -> NluResult | None:
        found = self.answers.classified.get((text, now, language, state, business_name))
        if found is None:
            self._last_error = NOT_CONSULTED
            return None
        result, self._last_error = found
        return result

    def word(
        self,
        draft: str,
        *,
        facts: Mapping[str, str],
        now: datetime,
        language: str = "en",
        business_name: str = "the business",
    ) -> str | None:
        found = self.answers.worded.get(_word_key(draft, facts, now, language, business_name))
        if found is None:
            self._last_error = NOT_CONSULTED
            return None
        text, self._last_error = found
        return text
