"""The policy validator every receptionist reply passes, template or LLM (receptionist.md §2.3).

R-B-04 / T-21: AI replies are A2P messages; the model must not invent offers, add
links or numbers, or pretend to be a person, and its output goes through the same
linters as templates. :func:`check_reply` checks one candidate text:

* names the business at the start (R-CT-01);
* no promotional language without marketing consent (R-C-02, using
  :func:`frontdesk.domain.content.promotional_terms`);
* links only to the tenant's allow-listed domains, never a public shortener (R-CT-03);
* no phone numbers but the tenant's own (R-CT-04);
* no prohibited or age-restricted content (R-CT-02), no opt-out word used as a menu
  answer and no joined keywords (R-K-08, receptionist.md §1.6, T-24);
* never claims to be human (§2.3 item 7: Utah's disclosure law, California's bot law);
* at most two segments, GSM-7 preferred: Spanish accents GSM-7 lacks (á í ó ú) are
  transliterated when that makes the whole text GSM-7 (R-S-01, T-17).

:func:`reply_cap` is the loop and cost brake (§2.3 item 8: 10 AI replies per hour,
25 per day per conversation, GoHighLevel's ceiling). Consent, opt-out and quiet hours
are re-checked by the gate at send time, not here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

from frontdesk.domain import segments
from frontdesk.domain.content import (
    ContentContext,
    has_opt_out_language,
    is_public_shortener,
    screen,
)
from frontdesk.domain.messages import Category
from frontdesk.domain.reasons import ReasonCode, Severity
from frontdesk.receptionist.extract import fold

__all__ = [
    "MAX_AI_REPLIES_PER_DAY",
    "MAX_AI_REPLIES_PER_HOUR",
    "MAX_SEGMENTS",
    "Check",
    "check_reply",
    "claims_human",
    "prefer_gsm7",
    "reply_cap",
]

MAX_AI_REPLIES_PER_HOUR = 10
MAX_AI_REPLIES_PER_DAY = 25
MAX_SEGMENTS = 2


@dataclass(frozen=True, slots=True)
class Check:
    """The text as it would be sent (after GSM-7 preference) and what is wrong with it;
    ``violations`` are short codes for the audit record ("promotional: 20% off")."""

    text: str
    violations: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.violations


_HUMAN_CLAIM_RE = re.compile(
    r"\b(?:i'?m|i\s+am|this\s+is|you'?re\s+(?:talking|texting|chatting)\s+(?:to|with))\s+"
    r"(?:a\s+|an\s+)?(?:real|actual|live)\s+(?:person|human|woman|man|receptionist)\b"
    r"|\b(?:i'?m|i\s+am)\s+(?:a\s+)?human\b"
    r"|\b(?:i'?m|i\s+am|this\s+is)\s+not\s+(?:a\s+|an\s+)?(?:bot|robot|ai|machine|computer|"
    r"automated|chatbot)\b"
    r"|\bnot\s+a\s+(?:bot|robot|machine)\b"
    r"|\bsoy\s+(?:una\s+|un\s+)?(?:persona|humano|humana|ser\s+humano)\b"
    r"|\bno\s+soy\s+(?:un\s+|una\s+)?(?:bot|robot|maquina|ia)\b"
)


def claims_human(text: str) -> bool:
    """§2.3 item 7: "I'm a real person", "I am not a bot", "soy una persona real"."""
    return _HUMAN_CLAIM_RE.search(fold(text)) is not None


def prefer_gsm7(text: str) -> str:
    """Smart-encode look-alikes and transliterate accents outside GSM-7 (á→a, í→i, ó→o,
    ú→u; é, ñ, ¿, ¡ stay: they are GSM-7) when that makes the whole text GSM-7; otherwise
    the text keeps its characters (it is UCS-2 anyway, e.g. an emoji)."""
    smart = segments.smart_encode(text)
    if segments.is_gsm7(smart):
        return smart
    out: list[str] = []
    for ch in smart:
        if segments.is_gsm7(ch):
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(base if base and segments.is_gsm7(base) else ch)
    candidate = "".join(out)
    return candidate if segments.is_gsm7(candidate) else smart


def _e164(number: str) -> str | None:
    try:
        parsed = phonenumbers.parse(number, "US")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _domain_ok(url: str, allowed: frozenset[str]) -> bool:
    s = url.split("://", 1)[-1].lower()
    host = re.split(r"[/?#:\\]", s, maxsplit=1)[0].rsplit("@", 1)[-1].strip(".")
    labels = host.split(".")
    return any(".".join(labels[i:]) in allowed for i in range(len(labels)))


_BLOCKING_CODES = frozenset(
    {
        ReasonCode.PROHIBITED_CONTENT,
        ReasonCode.AGE_GATE_REQUIRED,
        ReasonCode.MISSING_OPT_OUT_LANGUAGE,
    }
)


def check_reply(
    text: str,
    *,
    business_name: str,
    marketing_consent: bool,
    allowed_link_domains: Iterable[str] = (),
    tenant_numbers: Iterable[str] = (),
    first_message_to_contact: bool = False,
) -> Check:
    """Validate one outbound receptionist text (see the module docstring for the rules)."""
    body = prefer_gsm7(text.strip())
    name = prefer_gsm7(business_name.strip())
    violations: list[str] = []
    if not body:
        return Check(body, ("empty",))
    if not name or not body.startswith(name):
        violations.append("business_name_not_first")

    allowed = frozenset(d.strip().lower().strip(".") for d in allowed_link_domains if d.strip())
    owned = frozenset(n for n in (_e164(x) for x in tenant_numbers if x) if n)
    findings = screen(
        body,
        ContentContext(
            business_name=name,
            category=Category.CONVERSATION,
            first_message_to_contact=first_message_to_contact,
            tenant_numbers=owned,
            allowed_link_domains=allowed,
        ),
    )
    if findings.promotional_terms and not marketing_consent:
        violations.append("promotional: " + ", ".join(findings.promotional_terms))
    for url in findings.urls:
        if is_public_shortener(url):
            violations.append(f"public_shortener: {url}")
        elif not _domain_ok(url, allowed):
            violations.append(f"foreign_link: {url}")
    for phone in findings.phone_numbers:
        if phone not in owned:
            violations.append(f"foreign_phone: {phone[:-4]}****")
    for reason in findings.reasons:
        if reason.code in _BLOCKING_CODES and (
            reason.severity is Severity.BLOCK or reason.code is ReasonCode.AGE_GATE_REQUIRED
        ):
            violations.append(f"{reason.code.value} ({reason.rule})")
    if first_message_to_contact and not has_opt_out_language(body):
        violations.append("missing_opt_out_language (R-K-08)")
    if claims_human(body):
        violations.append("claims_human")
    count = segments.count(body)
    if count.segments > MAX_SEGMENTS:
        violations.append(f"too_long: {count.segments} segments")
    return Check(body, tuple(dict.fromkeys(violations)))


def reply_cap(ai_replies_last_hour: int, ai_replies_last_day: int) -> str | None:
    """§2.3 item 8: the reason to stop replying, or None while under both caps."""
    if ai_replies_last_hour >= MAX_AI_REPLIES_PER_HOUR:
        return f"reply_cap_hour: {ai_replies_last_hour} >= {MAX_AI_REPLIES_PER_HOUR}"
    if ai_replies_last_day >= MAX_AI_REPLIES_PER_DAY:
        return f"reply_cap_day: {ai_replies_last_day} >= {MAX_AI_REPLIES_PER_DAY}"
    return None
