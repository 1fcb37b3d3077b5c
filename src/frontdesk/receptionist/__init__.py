"""The AI receptionist's brain: what to answer to one inbound text (receptionist.md Part 2).

Room rules: no database, no clock (``now`` arrives in :class:`ConversationContext`), no
sending. Imports only :mod:`frontdesk.domain` (content and segment rules), the standard
library, ``phonenumbers``, and — in :mod:`.llm` only — ``httpx`` and ``pydantic``. The
compliance gate runs before (opt-out detection, Part 1) and after (consent, opt-out and
quiet hours at send time, R-B-04); this package decides the intent, the one action from
a closed list, and a reply text that already passed the guardrails (§2.3, T-21).

Entry point: :func:`respond`. Optional: :class:`LlmAdapter` for an OpenAI-compatible
server (off by default).
"""

from frontdesk.receptionist.engine import (
    ACTIONS,
    AppointmentView,
    ConversationContext,
    ReceptionistReply,
    TenantKnowledge,
    respond,
)
from frontdesk.receptionist.intents import Intent
from frontdesk.receptionist.llm import CircuitBreaker, LlmAdapter

__all__ = [
    "ACTIONS",
    "AppointmentView",
    "CircuitBreaker",
    "ConversationContext",
    "Intent",
    "LlmAdapter",
    "ReceptionistReply",
    "TenantKnowledge",
    "respond",
]
