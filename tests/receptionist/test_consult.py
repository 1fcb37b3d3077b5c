"""The model's answers recorded before the write transaction and replayed inside it.

``receptionist.consult``: the replay answers exactly the questions that were asked,
never calls a model, and a question nobody asked gets no answer, so the engine
stays on its deterministic path (receptionist.md §2.2: every model failure falls
back to templates).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from frontdesk.receptionist import LlmAdapter, respond
from frontdesk.receptionist.consult import NOT_CONSULTED, NluAnswers, RecordingNlu
from tests.receptionist.fake_openai import Answer, FakeServer, fake_openai
from tests.receptionist.test_engine import KNOWLEDGE, PENDING
from tests.receptionist.test_llm import UNCLEAR
from tests.receptionist.test_llm import _valid as answer_validly


@pytest.fixture
def server() -> Iterator[FakeServer]:
    """Answers ``reschedule`` and, asked to reword, a friendly rewrite (test_llm's)."""
    with fake_openai(answer_validly) as s:
        yield s


def _recorded(server: FakeServer, *, wording: bool) -> tuple[Any, NluAnswers]:
    model = LlmAdapter(server.base_url, "fake-model", timeout=2.0, wording=wording)
    recorder = RecordingNlu(model)
    live = respond(UNCLEAR, PENDING, KNOWLEDGE, nlu=recorder)
    return live, recorder.answers


@pytest.mark.parametrize("wording", [False, True])
def test_the_replay_gives_the_same_reply_without_calling_the_model(
    server: FakeServer, wording: bool
) -> None:
    live, answers = _recorded(server, wording=wording)
    asked = len(server.requests)
    assert asked == len(answers) == (2 if wording else 1)

    replayed = respond(UNCLEAR, PENDING, KNOWLEDGE, nlu=answers.replay())

    assert replayed == live
    assert (replayed.intent, replayed.source) == ("reschedule", "llm")
    assert len(server.requests) == asked


def test_a_question_nobody_asked_gets_no_answer_and_the_rules_decide(
    server: FakeServer,
) -> None:
    _, answers = _recorded(server, wording=False)
    moved_on = replace(PENDING, state="handed_off")

    reply = respond(UNCLEAR, moved_on, KNOWLEDGE, nlu=answers.replay())

    assert reply.intent == "other" and reply.source != "llm"
    assert f"llm_fallback: {NOT_CONSULTED}" in reply.notes
    assert len(server.requests) == 1


def test_a_failed_model_call_replays_as_the_same_failure() -> None:
    with fake_openai(lambda _: Answer(status=500)) as server:
        model = LlmAdapter(server.base_url, "fake-model", timeout=2.0)
        recorder = RecordingNlu(model)
        live = respond(UNCLEAR, PENDING, KNOWLEDGE, nlu=recorder)
    replayed = respond(UNCLEAR, PENDING, KNOWLEDGE, nlu=recorder.answers.replay())
    assert replayed == live
    assert "llm_fallback: HTTP 500" in replayed.notes
