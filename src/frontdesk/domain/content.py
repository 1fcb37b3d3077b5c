"""Outbound content screen: what a message body says, checked before it is sent.

Every outbound text (template, staff shortcut, AI receptionist reply; R-B-04,
T-21) passes :func:`screen`, which returns explained findings: prohibited and
age-restricted content (R-CT-02), public URL shorteners and foreign link
domains (R-CT-03), embedded links and phone numbers against the campaign
(R-CT-04), sender identification (R-CT-01), opt-out language (R-K-08, T-24),
opt-out words misused as menu answers (receptionist.md §1.6) and promotional
language that turns an informational text into marketing (R-C-02, T-13) or
spoils a missed-call follow-up or compliance reply (R-C-06, R-FCC-03).
:func:`screen_compliance_reply` lints HELP, opt-out and opt-in replies
(R-K-03, R-K-04, R-K-05).

Pure: no I/O, no clock. All patterns are compiled once at import. Lexicons are
word-bounded and carry exclusions for the ordinary vocabulary of dentists,
salons and tradespeople ("flu shot", "gas leak", "potential", "loaner car",
"nail gun", "wine-colored dye", "avoid alcohol after your extraction").
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import phonenumbers

from frontdesk.domain.messages import COMPLIANCE_REPLIES, Category
from frontdesk.domain.reasons import Reason, ReasonCode, Severity

__all__ = [
    "ContentContext",
    "ContentFindings",
    "check_business_name",
    "check_embedded_links",
    "check_embedded_phones",
    "check_joined_opt_out_keywords",
    "check_link_domains",
    "check_opt_out_language",
    "check_prohibited_content",
    "check_promotional_language",
    "check_reserved_keyword_misuse",
    "check_url_shorteners",
    "find_urls",
    "has_opt_out_language",
    "is_public_shortener",
    "names_business",
    "promotional_terms",
    "screen",
    "screen_compliance_reply",
]


@dataclass(frozen=True, slots=True)
class ContentContext:
    business_name: str
    category: Category
    first_message_to_contact: bool
    campaign_embedded_links: bool | None = None
    campaign_embedded_phone: bool | None = None
    campaign_age_gated: bool | None = None
    tenant_numbers: frozenset[str] = frozenset()
    allowed_link_domains: frozenset[str] = frozenset()
    # R-K-08: a recurring program's last opt-out instructions to this contact are more
    # than a month old (worked out by the gate from the contact's history).
    opt_out_notice_due: bool = False


@dataclass(frozen=True, slots=True)
class ContentFindings:
    reasons: tuple[Reason, ...]
    effective_category: Category
    promotional_terms: tuple[str, ...]
    urls: tuple[str, ...]
    phone_numbers: tuple[str, ...]

    @property
    def blocking(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.severity is Severity.BLOCK)


# Categories whose content is informational; promotional words make them marketing.
INFORMATIONAL: frozenset[Category] = frozenset(
    {
        Category.APPOINTMENT_CONFIRMATION,
        Category.APPOINTMENT_REMINDER,
        Category.SERVICE_NOTIFICATION,
        Category.TRANSACTIONAL,
        Category.CONVERSATION,
    }
)

# Categories that are automated sends and must name the business (R-CT-01).
AUTOMATED: frozenset[Category] = frozenset(
    {
        Category.APPOINTMENT_CONFIRMATION,
        Category.APPOINTMENT_REMINDER,
        Category.MISSED_CALL_FOLLOWUP,
        Category.SERVICE_NOTIFICATION,
        Category.TRANSACTIONAL,
        Category.MARKETING,
    }
)

# R-CT-03 list plus other well-known public/shared shorteners.
PUBLIC_SHORTENERS: frozenset[str] = frozenset(
    {
        "bit.ly", "bitly.com", "bitly.is", "tinyurl.com", "t.ly", "ow.ly", "is.gd", "v.gd",
        "rb.gy", "cutt.ly", "tiny.cc", "rebrand.ly", "bit.do", "goo.gl", "shorturl.at",
        "lnkd.in", "app.link", "s2r.co", "soo.gd", "shrtco.de", "t.co", "buff.ly", "adf.ly",
        "shorte.st", "short.gy", "clck.ru", "qrco.de", "t2m.io", "tiny.one", "cli.gs", "u.to",
        "x.co", "tr.im", "po.st", "snip.ly", "bl.ink", "shorturl.com", "tinu.be", "urlz.fr",
    }
)  # fmt: skip

# A bare "word.tld" counts as a link only with one of these endings, a path, or a
# shortener host; "Tues.at 3" and "call.me" are typos, not links.
_COMMON_TLDS: frozenset[str] = frozenset(
    {
        "com", "net", "org", "edu", "gov", "mil", "info", "biz", "io", "co", "ai", "app", "dev",
        "xyz", "site", "online", "website", "shop", "store", "click", "health", "dental",
        "dentist", "clinic", "salon", "beauty", "hair", "spa", "plumbing", "services", "repair",
        "care", "pizza", "restaurant", "cafe", "tech", "top", "club", "live", "pro", "mobi", "tv",
        "ca", "uk", "au", "nz", "ie", "page", "email", "law", "vet", "nyc", "example"
    }
)  # fmt: skip

_CARE_PATHS: frozenset[str] = frozenset(
    {
        "help", "support", "care", "contact", "contact-us", "contactus", "faq", "faqs", "privacy",
        "terms", "sms", "sms-help", "optout", "opt-out", "unsubscribe", "preferences"
    }
)  # fmt: skip


class _Kind(StrEnum):
    DISALLOWED = "disallowed"
    AGE_RESTRICTED = "age_restricted"
    HIGH_RISK = "high_risk"


@dataclass(frozen=True, slots=True)
class _Lexicon:
    label: str
    kind: _Kind
    pattern: re.Pattern[str]
    negatable: bool
    triggers: tuple[str, ...]


# --------------------------------------------------------------------------- text


_TRANSLATE = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2015": "-", "\u2212": "-", "\u3002": ".", "\u00a0": " ",
    }
)  # fmt: skip
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")
_OBFUSCATED_DOT = re.compile(r"\s?(?:\[\.\]|\(\.\)|\{\.\}|\[(?i:dot)\]|\((?i:dot)\))\s?")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _normalize(text: str) -> str:
    """NFKC, smart quotes and dashes to ASCII, invisible characters removed, "[.]" to "."."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        text = _INVISIBLE.sub("", text)
        text = text.translate(_TRANSLATE)
    if "[" in text or "(" in text or "{" in text:
        text = _OBFUSCATED_DOT.sub(".", text)
    return text


@dataclass(frozen=True, slots=True)
class _Text:
    """A body normalised once: ``norm`` for display and case checks, ``low`` (same length,
    ASCII-lowercased) for matching; patterns are lowercase and compiled without re.I,
    which is several times faster."""

    norm: str
    low: str


@lru_cache(maxsize=256)
def _prepare(body: str) -> _Text:
    norm = _normalize(body)
    low = norm.lower() if norm.isascii() else norm.translate(_ASCII_LOWER)
    return _Text(norm, low)


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _reason(
    code: ReasonCode, rule: str, message: str, fix: str, severity: Severity = Severity.BLOCK
) -> Reason:
    return Reason(code=code, rule=rule, message=message, fix=fix, severity=severity)


def _quote(items: Iterable[str]) -> str:
    return ", ".join(f'"{i}"' for i in items)


# --------------------------------------------------------------------------- URLs

_URL_RE = re.compile(
    r"(?P<scheme>\b(?:https?|ftp)://[^\s<>\"]+)"
    r"|(?<![\w@.\-/])(?P<bare>"
    r"(?P<host>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?P<tld>[a-z]{2,24}))"
    r"(?::\d{2,5})?(?P<path>[/?#][^\s<>\"]*)?)(?![\w@-])",
)
_URL_HINT_RE = re.compile(r"[a-z0-9]\.[a-z]|://")
_TRAILING = ".,;:!?'\"]}>*"
_EMAIL_RE = re.compile(r"[\w.+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24}\b")


def _strip_trailing(url: str) -> str:
    while url:
        last = url[-1]
        if last in _TRAILING or (last == ")" and url.count("(") < url.count(")")):
            url = url[:-1]
        else:
            break
    return url


def _host_of(url_or_host: str) -> str:
    s = _normalize(url_or_host).strip().lower()
    if "://" in s:
        s = s.split("://", 1)[1]
    elif s.startswith("//"):
        s = s[2:]
    host = re.split(r"[/?#\\]", s, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1]
    if not host.startswith("["):
        host = host.split(":", 1)[0]
    return host.strip(".")


def _domain_in(host: str, domains: frozenset[str]) -> bool:
    """True when ``host`` is one of ``domains`` or a subdomain of one (label-aligned)."""
    labels = host.split(".")
    return any(".".join(labels[i:]) in domains for i in range(len(labels)))


def _find_urls(t: _Text) -> tuple[str, ...]:
    if _URL_HINT_RE.search(t.low) is None:
        return ()
    found: list[str] = []
    for m in _URL_RE.finditer(t.low):
        if m.group("scheme"):
            url = _strip_trailing(t.norm[m.start("scheme") : m.end("scheme")])
            if len(url.split("://", 1)[1]) > 0:
                found.append(url)
            continue
        url = _strip_trailing(t.norm[m.start("bare") : m.end("bare")])
        host = m.group("host")
        tld = m.group("tld")
        has_path = len(url) > len(host) and url[len(host)] in "/?#:"
        if (
            host.startswith("www.")
            or tld in _COMMON_TLDS
            or has_path
            or _domain_in(host, PUBLIC_SHORTENERS)
        ):
            found.append(url)
    return _dedupe(found)


def find_urls(body: str) -> tuple[str, ...]:
    """Links in ``body``: with a scheme, ``www.``, or bare domains (``BIT.LY/x``, ``bit.ly/x``)."""
    return _find_urls(_prepare(body))


def is_public_shortener(url_or_host: str) -> bool:
    """R-CT-03: host is a public shortener by registrable domain (``sub.bit.ly`` yes,
    ``bit.ly.evil.example`` no)."""
    host = _host_of(url_or_host)
    return bool(host) and _domain_in(host, PUBLIC_SHORTENERS)


def _is_care_url(url: str) -> bool:
    s = url.split("://", 1)[-1]
    parts = re.split(r"[/?#]", s, maxsplit=2)
    path = parts[1].strip().lower() if len(parts) > 1 else ""
    return not is_public_shortener(url) and (path == "" or path in _CARE_PATHS)


# --------------------------------------------------------------------------- phones


def _find_phones(t: _Text) -> tuple[str, ...]:
    text = t.norm
    if sum(ch.isdigit() for ch in text) < 7:
        return ()
    found = [
        phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164)
        for m in phonenumbers.PhoneNumberMatcher(text, "US")
    ]
    return _dedupe(found)


def _e164(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, "US")
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# --------------------------------------------------------------------------- business name

_POSSESSIVE = re.compile(r"(\w)'s\b|(\w)s'(?=\W|$)")
_NON_WORD = re.compile(r"[^\w]+")
_NAME_DROP_SUFFIX = frozenset({"llc", "inc", "ltd", "pllc", "corp", "co", "lp", "llp"})


def _name_tokens(text: str) -> list[str]:
    text = _prepare(text).low
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.casefold())
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("&", " and ").replace("+", " and ")
    text = _POSSESSIVE.sub(lambda m: m.group(1) or m.group(2), text)
    tokens = [t for t in _NON_WORD.split(text.replace("_", " ")) if t]
    return [t[:-1] if len(t) > 3 and t.endswith("s") else t for t in tokens]


@lru_cache(maxsize=256)
def _name_target(business_name: str) -> str:
    name = _name_tokens(business_name)
    if len(name) > 1 and name[0] == "the":
        name = name[1:]
    while len(name) > 1 and name[-1] in _NAME_DROP_SUFFIX:
        name = name[:-1]
    return "".join(name)


def _verbatim(low: str, name: str) -> bool:
    """The name as written, on word boundaries (the common case, checked first)."""
    i = low.find(name)
    while i >= 0:
        j = i + len(name)
        if (i == 0 or not low[i - 1].isalnum()) and (j == len(low) or not low[j].isalnum()):
            return True
        i = low.find(name, i + 1)
    return False


def names_business(body: str, business_name: str) -> bool:
    """True when ``body`` names the business, tolerating case, punctuation, "&"/"and",
    possessives, a leading "The", a corporate suffix and spacing ("BrightSmile")."""
    target = _name_target(business_name)
    if not target:
        return False
    plain = _prepare(business_name).low.strip()
    if plain and _verbatim(_prepare(body).low, plain):
        return True
    words = _name_tokens(body)
    for i in range(len(words)):
        joined = ""
        for word in words[i:]:
            joined += word
            if joined == target:
                return True
            if len(joined) >= len(target) or not target.startswith(joined):
                break
    return False


# --------------------------------------------------------------------------- opt-out language

_OPT_OUT_KW = r"stop\s?all|stop|end|quit|unsubscribe|cancel|revoke|opt[\s-]?out|arret|para|baja"
_REPLY_VERB = (
    r"reply|text|txt|send|respond|msg|message|type|responde|responda|envía|envia|envíe|"
    r"envie|contesta|conteste|escribe|escriba|manda"
)
_OPT_OUT_PURPOSE = (
    r"opt[\s-]?out|optout|unsubscribe|unsub|end|stop|cancel|quit|be\s+removed|no\s+longer|"
    r"darte\s+de\s+baja|dejar\s+de|cancelar|no\s+recibir"
)
_OPT_OUT_VERB_RE = re.compile(
    rf"\b(?:{_REPLY_VERB})\s+(?:with\s+|con\s+)?(?:the\s+word\s+|la\s+palabra\s+)?"
    rf"(?P<q>[\"'])?(?P<kw>{_OPT_OUT_KW})\b(?!-\w|\d)",
)
_OPT_OUT_BARE_RE = re.compile(
    rf"(?P<kw>\b(?:{_OPT_OUT_KW}))\b(?!-\w|\d)[\"']?\s*(?:to|=|for|para)\s+(?:{_OPT_OUT_PURPOSE})\b",
)
_PURPOSE_AFTER_RE = re.compile(rf"[\"']?\s*(?:to|for|para)\s+(?:{_OPT_OUT_PURPOSE})\b")
_SPANISH_LOWER_KW = frozenset({"para"})

_JOINED_RE = re.compile(
    r"(?<![a-z])(?P<joined>(?:stop\s?all|stop|end|quit|cancel|unsubscribe|opt-?out)"
    r"(?:[\s_.\-]*[24][\s_.\-]*|to|2|4)"
    r"(?:end|quit|stop|opt[\s-]?out|unsubscribe|unsub|cancel))(?![a-z])",
)


@lru_cache(maxsize=4096)
def has_opt_out_language(body: str) -> bool:
    """R-K-08: "Reply STOP to opt out/end/unsubscribe", "Text STOP", "Responde STOP/PARA".

    The keyword must stand alone ("STOP2END" does not count, T-24) and, when written in
    lower case, be followed by what it does ("reply stop to opt out").
    """
    t = _prepare(body)
    for m in _OPT_OUT_VERB_RE.finditer(t.low):
        kw = t.norm[m.start("kw") : m.end("kw")]
        if m.group("kw") in _SPANISH_LOWER_KW and not kw.isupper():
            continue
        if kw.isupper() or m.group("q") or _PURPOSE_AFTER_RE.match(t.low, m.end()):
            return True
    return any(
        t.norm[m.start("kw") : m.end("kw")].isupper() and m.group("kw") not in _SPANISH_LOWER_KW
        for m in _OPT_OUT_BARE_RE.finditer(t.low)
    )


# --------------------------------------------------------------------------- promotional

_OFFER_NOUNS = (
    r"consultations?|consults?|exams?|estimates?|quotes?|gifts?|trials?|whitening|cleanings?|"
    r"upgrades?|months?|weeks?|services?|check-?ups?|inspections?|shipping|haircuts?|blowouts?|"
    r"sessions?|class(?:es)?|samples?|treatments?|bonus|products?|add-?ons?|drinks?|desserts?|"
    r"items?|visits?|x-?rays?|evaluations?|assessments?|lessons?|manicures?|pedicures?|"
    r"facials?|massages?|tune-?ups?|installation|diagnostics?|service\s+calls?"
)
# Each pattern runs only when one of its trigger substrings occurs in the lowercased body
# (every match contains a trigger), so a plain reminder costs a few substring tests.
_PROMO_SOURCES: tuple[tuple[str, str], ...] = (
    ("%", r"\d+(?:\.\d+)?\s?%\s*(?:off|discount|savings?)"),
    ("percent", r"\d+\s?percent\s+(?:off|discount)"),
    ("$", r"\$\s?\d+(?:\.\d{2})?\s+off\b"),
    ("$ %", r"\b(?:save|saving|take|get)\s+(?:up\s+to\s+|an\s+extra\s+)?(?:\$\s?\d+|\d+\s?%)"),
    ("save", r"\bsave\s+big\b|\band\s+save\b"),
    ("discount", r"\bdiscount(?:s|ed)?\b"),
    ("sale", r"(?<!of )\bsale\b|\bsales\s+event\b"),
    ("clearance", r"\bclearance\b"),
    (
        "offer",
        r"\b(?:special|exclusive|limited|limited-time|introductory|intro|holiday|seasonal|"
        r"new[\s-](?:patient|client|customer)|welcome|bonus|great|amazing)\s+offers?\b"
        r"|\boffers?\s+(?:ends?|expires?|valid|good\s+(?:through|until|till))\b",
    ),
    (
        "promo",
        r"\bpromo\s?codes?\b|\bpromo(?:s|tion|tions|tional)?\b(?!\s+(?:texts?|messages?|msgs?|"
        r"sms|alerts?|emails?|notifications?))",
    ),
    ("coupon voucher", r"\bcoupons?\b|\bvouchers?\b"),
    (
        "deal",
        r"\b(?:great|special|best|hot|exclusive|holiday|sweet|amazing|limited|package|bundle|"
        r"weekly|daily|black\s+friday|cyber\s+monday)\s+deals?\b|\bdeals\b",
    ),
    (
        "free complimentary",
        rf"\b(?:free|complimentary)\s+(?:(?:new|first|teeth|dental|home|hvac|hair|brow|deep|"
        rf"\d+-minute|same-day|follow-up)\s+)?(?:{_OFFER_NOUNS})\b",
    ),
    (
        "free",
        r"\bget\s+(?:[\w$]+\s+){0,4}(?<!feel )(?<!-)free\b(?!\s+of\b)|(?<!-)\bfree\s*!"
        r"|\b(?:100%|totally|absolutely|completely)\s+free\b(?!\s+of\b)",
    ),
    ("limited", r"\blimited[\s-]time\b|\blimited\s+(?:spots|availability|offer|supply)\b"),
    ("only", r"\btoday\s+only\b|\bthis\s+(?:week|weekend|month)\s+only\b"),
    ("supplies", r"\bwhile\s+supplies\s+last\b"),
    ("act", r"\bact\s+(?:now|fast)\b"),
    ("hurry", r"\bhurry(?:\s*!|\s+(?:in|now|before|while))"),
    ("miss", r"\bdon'?t\s+miss(?:\s+out)?\b"),
    ("chance", r"\blast\s+chance\b"),
    ("now", r"\b(?:book|shop|buy|sign\s+up|join)\s+now\b"),
    ("today", r"\b(?:sign\s+up|join|book)\s+today\s+(?:and|to)\s+(?:save|get)\b"),
    (
        "refer",
        r"\brefer[\s-]+(?:a|your)[\s-]+friends?\b|\brefer\s+(?:your\s+)?(?:friends|family)\b"
        r"|\breferral\s+(?:bonus|reward|credit|program|discount|special)\b",
    ),
    ("bogo", r"\bbogo\b"),
    ("buy", r"\bbuy\s+one,?\s+get\s+one\b"),
    ("half", r"\bhalf[\s-](?:off|price)\b"),
    ("for", r"\b(?:2|two)[\s-]for[\s-](?:1|one)\b"),
    (
        "special",
        r"\b(?:new[\s-](?:patient|client|customer)|monthly|weekly|holiday|spring|summer|fall|"
        r"winter|seasonal|introductory|intro)\s+specials?\b|\bspecials\b",
    ),
    (
        "$",
        r"\b(?:now\s+only|only|just|starting\s+at|for\s+only|for\s+just)\s+\$\s?\d+(?:\.\d{2})?"
        r"|\bwas\s+\$\s?\d+(?:\.\d{2})?,?\s+now\s+\$",
    ),
    (
        "review rate",
        r"\b(?:leave|write|post)\s+(?:us\s+)?(?:a\s+)?(?:quick\s+|short\s+)?(?:\d-star\s+)?review\b"
        r"|\b(?:review|rate)\s+us\b",
    ),
    ("due", r"\b(?:you're|you\s+are)\s+(?:now\s+)?(?:over)?due\s+for\b"),
    (
        "time",
        r"\bit'?s\s+time\s+(?:for|to\s+(?:schedule|book))\s+your\s+(?:next|annual|yearly|"
        r"6-month|six-month|routine|regular)\b",
    ),
    ("double", r"\bdouble\s+points\b"),
)
_PROMO: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (tuple(triggers.split()), re.compile(pattern)) for triggers, pattern in _PROMO_SOURCES
)
_FREE_CAPS_RE = re.compile(r"(?<!-)\bFREE\b")


def _promo_terms(t: _Text) -> tuple[str, ...]:
    low = t.low
    found: list[tuple[int, int, str]] = []
    for triggers, pattern in _PROMO:
        if any(trigger in low for trigger in triggers):
            found.extend((m.start(), -m.end(), m.group(0)) for m in pattern.finditer(low))
    if "FREE" in t.norm:
        found.extend((m.start(), -m.end(), "free") for m in _FREE_CAPS_RE.finditer(t.norm))
    terms: list[str] = []
    covered = -1
    for start, neg_end, term in sorted(found):
        if start >= covered:
            terms.append(" ".join(term.split()))
            covered = -neg_end
    return _dedupe(terms)


def promotional_terms(body: str) -> tuple[str, ...]:
    """R-C-02: the words that make a text advertise (discounts, offers, "book now", …)."""
    return _promo_terms(_prepare(body))


# --------------------------------------------------------------------------- prohibited

_TOOL_GUNS = (
    "glue", "nail", "caulk", "caulking", "staple", "grease", "spray", "heat", "paint",
    "solder", "soldering", "massage", "water", "foam", "air", "hot glue", "squirt",
)  # fmt: skip
_NOT_TOOL = "".join(f"(?<!{w} )(?<!{w}-)" for w in _TOOL_GUNS)


def _lex(
    label: str, kind: _Kind, triggers: str, patterns: Iterable[str], negatable: bool = True
) -> _Lexicon:
    """A category lexicon; ``triggers`` are substrings at least one of which every match
    contains, so the regex runs only on bodies that could match."""
    joined = "|".join(f"(?:{p})" for p in patterns)
    pattern = re.compile(rf"\b(?:{joined})")
    return _Lexicon(label, kind, pattern, negatable, tuple(triggers.split("|")))


_LEXICONS: tuple[_Lexicon, ...] = (
    _lex(
        "phishing/smishing",
        _Kind.DISALLOWED,
        "verify|identity|account|unusual|here|link|below|password|pin|ssn|"
        "security|bank|card|cvv|login|credentials|won|selected|claim|toll|gift",
        (
            r"verify\s+your\s+(?:account|identity|login|bank|card|information|details)\b",
            r"confirm\s+your\s+(?:account|identity|password|login|credentials|bank|card\s+"
            r"(?:number|details))\b",
            r"(?:your\s+)?account\s+(?:has\s+been|is|was|will\s+be)\s+(?:temporarily\s+)?"
            r"(?:suspended|locked|disabled|compromised|restricted|frozen|deactivated|on\s+hold)\b",
            r"unusual\s+(?:activity|sign-?in|login)\b",
            r"(?:click|tap|visit|follow)\s+(?:here|the\s+link|this\s+link|below)\s+to\s+"
            r"(?:verify|unlock|restore|reactivate|claim|secure|update\s+your\s+"
            r"(?:payment|billing|bank))\b",
            r"(?:enter|provide|send|reply\s+with|confirm|update)\s+your\s+(?:password|pin|ssn|"
            r"social\s+security(?:\s+number)?|bank\s+(?:account|login|details)|card\s+"
            r"(?:number|details)|cvv|login\s+details|credentials)\b",
            r"(?:you'?ve|you\s+have)\s+(?:been\s+selected|won)\b",
            r"claim\s+your\s+(?:prize|refund|winnings)\b",
            r"unpaid\s+tolls?\b",
            r"(?:pay|payment)\s+(?:with|in|by)\s+gift\s+cards?\b",
        ),
        negatable=False,
    ),
    _lex(
        "sexual content",
        _Kind.DISALLOWED,
        "porn|xxx|nude|sex|cam|erotic|escort|onlyfans|hook|strip|adult",
        (
            r"porn\w*",
            r"xxx\b",
            r"nudes\b",
            r"nude\s+(?:photos?|pics?|pictures?|videos?|selfies?)\b",
            r"sex\s+(?:toys?|chat|cams?|videos?|tapes?|party|parties|workers?)\b",
            r"sexting\b",
            r"cybersex\b",
            r"cam\s?girls?\b",
            r"erotic\w*",
            r"escorts\b",
            r"escort\s+(?:service|agency|girls?)\b",
            r"onlyfans\b",
            r"hook\s?ups?\s+tonight\b",
            r"strip\s+club\b",
            r"strippers?\b",
            r"adult\s+(?:content|videos?|entertainment|toys?|chat)\b",
        ),
        negatable=False,
    ),
    _lex(
        "hate speech",
        _Kind.DISALLOWED,
        "white|heil|race|ethnic|subhuman|back",
        (
            r"white\s+(?:power|pride|supremacy)\b",
            r"heil\s+hitler\b",
            r"sieg\s+heil\b",
            r"race\s+war\b",
            r"ethnic\s+cleansing\b",
            r"subhumans?\b",
            r"go\s+back\s+to\s+(?:your\s+country|where\s+you\s+came\s+from)\b",
        ),
        negatable=False,
    ),
    _lex(
        "cannabis/CBD",
        _Kind.DISALLOWED,
        "cannabis|marijuana|marihuana|cbd|thc|delta|dispensar|roll|kush|weed|pot|hemp|420",
        (
            r"cannabis\b",
            r"marijuana\b",
            r"marihuana\b",
            r"cbd\b",
            r"thc\b",
            r"delta[\s-]?[89]\b",
            r"dispensar(?:y|ies)\b",
            r"pre-?rolls?\b",
            r"kush\b",
            r"weed\s+(?:delivery|dispensary|shop|store|edibles|strains?|pens?|gummies|vapes?)\b",
            r"(?:buy|sell|order|smoke|premium|fresh|cheap|legal)\s+weed\b",
            r"pot\s+(?:shop|store|delivery|brownies|dispensary|edibles)\b",
            r"hemp\s+(?:oil|gummies|flower|extract|products?)\b",
            r"420[\s-](?:friendly|deals?|sale|special)\b",
        ),
    ),
    _lex(
        "illegal drugs / prescription drugs without a prescription",
        _Kind.DISALLOWED,
        "cocaine|heroin|meth|fentanyl|mdma|lsd|mushroom|shroom|psilocybin|xanax|oxy|percocet|"
        "adderall|valium|vicodin|tramadol|hydrocodone|codeine|viagra|cialis|opioid|painkiller|"
        "pills|meds|prescription|rx|script|pharmacy",
        (
            r"cocaine\b",
            r"heroin\b",
            r"meth(?:amphetamine)?\b",
            r"fentanyl\b",
            r"mdma\b",
            r"lsd\b",
            r"magic\s+mushrooms\b",
            r"shrooms\b",
            r"psilocybin\b",
            r"(?:buy|order|cheap|discount)\s+(?:\w+\s+)?(?:xanax|oxycontin|oxycodone|percocet|"
            r"adderall|valium|vicodin|tramadol|hydrocodone|codeine|viagra|cialis|opioids?|"
            r"painkillers)\b",
            r"(?:xanax|oxycontin|oxycodone|percocet|adderall|valium|vicodin|tramadol|hydrocodone|"
            r"codeine|viagra|cialis|opioids?|painkillers|pills|meds)\b[^.!?\n]{0,40}\b"
            r"(?:without|no)\s+(?:a\s+)?(?:prescription|rx|script)\b",
            r"(?:no|without)\s+(?:a\s+)?(?:prescription|rx|script)\s+(?:needed|required)\b",
            r"online\s+pharmacy\b",
        ),
    ),
    _lex(
        "firearms",
        _Kind.AGE_RESTRICTED,
        "firearm|gun|rifle|pistol|ammo|ammunition|ar-15|ar15|glock|concealed",
        (
            r"firearms?\b",
            r"handguns?\b",
            r"shotguns?\b",
            r"rifles\b",
            r"(?:hunting|assault|sniper|\.22)\s+rifle\b",
            r"pistols?\b(?![\s-]grip)",
            r"ammo\b",
            r"ammunition\b",
            r"ar-?15s?\b",
            r"glocks?\b",
            r"gun\s+(?:shop|store|show|range|safe|sale|club|permit|owners?)\b",
            r"concealed\s+carry\b",
            rf"{_NOT_TOOL}guns\b",
        ),
    ),
    _lex(
        "alcohol",
        _Kind.AGE_RESTRICTED,
        "beer|wine|champagne|liquor|vodka|whisk|tequila|bourbon|booze|brewery|winery|mimosa|"
        "margarita|prosecco|sangria|cocktail|bar|alcohol",
        (
            r"(?<!root )(?<!ginger )beers?\b",
            r"wines?\b(?![\s-]?(?:colou?r(?:ed)?|red|tones?|toned|shades?|hair|dye|lipstick|"
            r"polish|nails?|velvet|stain))",
            r"champagne\b(?![\s-]?(?:blonde?|pink|gold|toned?|colou?r(?:ed)?|highlights|"
            r"balayage|hair|nails?|polish|shimmer))",
            r"liquor\b",
            r"vodka\b",
            r"whiske?y\b",
            r"tequila\b",
            r"bourbon\b",
            r"booze\b",
            r"brewery\b",
            r"winery\b",
            r"mimosas?\b",
            r"margaritas?\b",
            r"prosecco\b",
            r"sangria\b",
            r"cocktails?\b(?!\s+(?:dress|attire|ring))",
            r"open\s+bar\b",
            r"(?<!rubbing )(?<!isopropyl )alcohol(?:ic)?\b",
        ),
    ),
    _lex(
        "tobacco/vape",
        _Kind.AGE_RESTRICTED,
        "tobacco|cig|vape|vaping|juul|nicotine|hookah|smoke|zyn|snus",
        (
            r"tobacco\b",
            r"cigarettes?\b",
            r"cigars?\b",
            r"e-?cigs?\b",
            r"e-?cigarettes?\b",
            r"vapes?\b",
            r"vaping\b",
            r"juul\b",
            r"nicotine\b(?![\s-](?:cessation|replacement|patch|gum))",
            r"hookah\b",
            r"smoke\s+shop\b",
            r"zyn\b",
            r"snus\b",
        ),
    ),
    _lex(
        "payday / short-term loans",
        _Kind.HIGH_RISK,
        "loan|cash|credit",
        (
            r"payday\s+loans?\b",
            r"cash\s+advances?\b",
            r"short[\s-]term\s+loans?\b",
            r"title\s+loans?\b",
            r"personal\s+loans?\b",
            r"(?:quick|easy|instant|fast|guaranteed)\s+(?:loans?|cash)\b",
            r"bad\s+credit\s+(?:ok|okay|loans?)\b",
            r"no\s+credit\s+check\b",
        ),
        negatable=False,
    ),
    _lex(
        "debt collection / debt relief",
        _Kind.HIGH_RISK,
        "debt|agency",
        (
            r"debt\s+(?:collection|collector|relief|consolidation|settlement|forgiveness|"
            r"reduction)\b",
            r"collection\s+agency\b",
            r"(?:consolidate|eliminate|erase|wipe\s+out)\s+(?:your\s+|all\s+)?debts?\b",
        ),
        negatable=False,
    ),
    _lex(
        "credit repair",
        _Kind.HIGH_RISK,
        "credit|negative",
        (
            r"credit\s+repair\b",
            r"(?:fix|repair|boost|raise|rebuild)\s+your\s+credit(?:\s+score)?\b",
            r"remove\s+negative\s+items\b",
        ),
        negatable=False,
    ),
    _lex(
        "gambling/sweepstakes",
        _Kind.HIGH_RISK,
        "casino|sweepstakes|jackpot|slot|spins|book|betting|poker|roulette|blackjack|lottery|"
        "raffle|giveaway|win|wager|parlay",
        (
            r"casinos?\b",
            r"sweepstakes\b",
            r"jackpots?\b",
            r"slot\s+machines?\b",
            r"online\s+slots\b",
            r"free\s+spins\b",
            r"sports?\s?book\b",
            r"sports\s+betting\b",
            r"betting\b",
            r"poker\b",
            r"roulette\b",
            r"blackjack\b",
            r"lottery\b",
            r"raffles?\b",
            r"giveaways?\b",
            r"(?:enter|chance)\s+to\s+win\b",
            r"wagers?\b",
            r"parlays?\b",
        ),
        negatable=False,
    ),
    _lex(
        "cryptocurrency",
        _Kind.HIGH_RISK,
        "crypto|bitcoin|btc|ethereum|dogecoin|altcoin|nft|token",
        (
            r"crypto(?:currency|currencies)?\b",
            r"bitcoins?\b",
            r"btc\b",
            r"ethereum\b",
            r"dogecoin\b",
            r"altcoins?\b",
            r"nfts?\b",
            r"token\s+sale\b",
        ),
        negatable=False,
    ),
    _lex(
        "get-rich-quick",
        _Kind.HIGH_RISK,
        "rich|$|passive|freedom|double|guaranteed|risk",
        (
            r"get\s+rich\b",
            r"(?:make|earn)\s+\$\s?\d[\d,]*\+?\s+(?:a|per|every|each)\s+(?:day|week|month)\b",
            r"passive\s+income\b",
            r"financial\s+freedom\b",
            r"double\s+your\s+money\b",
            r"guaranteed\s+(?:returns?|income|profits?)\b",
            r"risk[\s-]free\s+investment\b",
        ),
        negatable=False,
    ),
    _lex(
        "work-from-home schemes",
        _Kind.HIGH_RISK,
        "home",
        (
            r"work[\s-]from[\s-]home\s+(?:jobs?|opportunit\w+|positions?|business)\b",
            r"(?:earn|make)\s+(?:money|cash|\$\s?\d[\d,]*)\s+(?:from|at)\s+home\b",
            r"home[\s-]based\s+business\b",
        ),
        negatable=False,
    ),
    _lex(
        "multi-level marketing",
        _Kind.HIGH_RISK,
        "mlm|multi|network|team|boss|downline",
        (
            r"mlm\b",
            r"multi[\s-]level\s+marketing\b",
            r"network\s+marketing\b",
            r"join\s+my\s+team\b",
            r"be\s+your\s+own\s+boss\b",
            r"downlines?\b",
        ),
        negatable=False,
    ),
)

_NEGATION_RE = re.compile(
    r"\b(?:avoid\w*|refrain|abstain|quit\w*|without|never|no|not|don'?t|do\s+not|stop\w*|"
    r"skip|limit|instead\s+of|cut\s+back\s+on)\b(?!\s+(?:miss|forget|wait|hesitate)\b)",
)
_FREE_SUFFIX_RE = re.compile(r"\s?-\s?free\b")
_CLAUSE_BREAKS = ".!?;\n"


def _negated(text: str, start: int, end: int) -> bool:
    """True when a restricted word is named to be avoided ("avoid alcohol for 24 hours",
    "alcohol-free mouthwash"), which is care advice rather than an offer of it."""
    if _FREE_SUFFIX_RE.match(text, end):
        return True
    window = text[max(0, start - 60) : start]
    cut = max(window.rfind(c) for c in _CLAUSE_BREAKS)
    dash = window.rfind(" - ")
    if dash >= 0:
        cut = max(cut, dash + 2)
    if cut >= 0:
        window = window[cut + 1 :]
    return _NEGATION_RE.search(window) is not None


# --------------------------------------------------------------------------- reserved words

_RESERVED_KW = r"stop\s?all|stop|end|quit|cancel|unsubscribe|revoke|opt[\s-]?out|remove|cancelar"
_RESERVED_HIT_RE = re.compile(rf"\b(?:{_RESERVED_KW})\b(?!-\w|\d)")
_RESERVED_TRIGGERS = ("stop", "end", "quit", "cancel", "unsub", "revoke", "opt", "remove")
_RESERVED_AFTER_RE = re.compile(
    r"[\"']?\s+(?P<conj>to|for|if|and\s+we(?:'ll|\s+will)|para|si)\s+(?P<purpose>[^.!?;,\n]*)"
)
_VERB_BEFORE_RE = re.compile(
    rf"\b(?P<verb>{_REPLY_VERB}|or|and)\s+(?:with\s+)?(?:the\s+word\s+)?(?P<q>[\"'])?$"
)
_PURPOSE_BEFORE_RE = re.compile(
    r"\bto\s+(?P<purpose>(?:cancel|reschedule|skip|confirm|change|move|postpone|end|stop|"
    r"quit|pause|hold|opt|unsubscribe|be\s+removed|remove)\b[^.!?;,:\n]{0,50}?)\s*[,:?]\s*"
    rf"(?:{_REPLY_VERB})\s+(?:with\s+)?(?P<q>[\"'])?$"
)
_UNAMBIGUOUS_OPT_OUT_RE = re.compile(
    r"^\s*(?:opt[\s-]?out|optout|unsubscribe|unsub|be\s+removed|remove\s+(?:yourself|you|"
    r"your\s+number)|no\s+longer|not\s+(?:receive|get)|revoke|(?:stop|end|quit|cancel)\s+"
    r"(?:receiving|getting)|no\s+more\s+(?:texts|messages|msgs)|darte\s+de\s+baja|"
    r"dejar\s+de\s+recibir|no\s+recibir)\b",
)
_AMBIGUOUS_OPT_OUT_RE = re.compile(r"^\s*(?:stop|end|quit|cancel|halt|cancelar)\b")
_MESSAGE_NOUN_RE = re.compile(
    r"\b(?:texts?|messages?|msgs?|sms|alerts?|notifications?|reminders?|updates?|marketing|"
    r"subscription|list|program|mensajes)\b",
)
_SERVICE_OBJECT_RE = re.compile(
    r"\b(?:appointments?|appts?|visits?|bookings?|reservations?|orders?|cleanings?|sessions?|"
    r"jobs?|delivery|deliveries|consultations?|exams?|check-?ups?|class(?:es)?|rides?|"
    r"memberships?|plans?|services?|week|today|tomorrow|tonight|shift|cita|reserva|visita|"
    r"make\s+it|reschedule|skip|can'?t\s+come|cannot\s+come)\b",
)
_STANDARD_KWS = frozenset({"stop", "stopall", "stop all", "unsubscribe", "optout", "opt out"})


def _purpose_is_opt_out(purpose: str, kw: str, conj: str, body_mentions_service: bool) -> bool:
    if _UNAMBIGUOUS_OPT_OUT_RE.match(purpose):
        return True
    has_message_noun = _MESSAGE_NOUN_RE.search(purpose) is not None
    mentions_service = _SERVICE_OBJECT_RE.search(purpose) is not None
    if conj.casefold() in {"if", "si"}:
        return has_message_noun or not mentions_service
    if not _AMBIGUOUS_OPT_OUT_RE.match(purpose):
        return False
    if mentions_service:
        return has_message_noun
    rest = _AMBIGUOUS_OPT_OUT_RE.sub("", purpose, count=1).strip()
    if rest and not has_message_noun and _SERVICE_OBJECT_RE.search(rest) is None:
        return rest.split()[0].casefold() in {"all", "any", "future", "from", "at", "anytime"}
    if not rest and body_mentions_service:
        return " ".join(kw.casefold().split()).replace("-", " ") in _STANDARD_KWS
    return True


# --------------------------------------------------------------------------- rules


def check_prohibited_content(text: str, ctx: ContentContext) -> tuple[Reason, ...]:
    """R-CT-02 (SHAFT and disallowed content; seed §4; T-Mobile Sev-0 fines).

    Disallowed (sex, hate, cannabis/CBD, illegal drugs, phishing) and high-risk
    (payday loans, debt relief, credit repair, gambling/sweepstakes, crypto,
    get-rich-quick, work-from-home, MLM) content is blocked. Alcohol, tobacco/vape and
    firearms are allowed only on an age-gated campaign.
    """
    low = _prepare(text).low
    reasons: list[Reason] = []
    for lex in _LEXICONS:
        if not any(trigger in low for trigger in lex.triggers):
            continue
        hits = [
            " ".join(m.group(0).split())
            for m in lex.pattern.finditer(low)
            if not (lex.negatable and _negated(low, m.start(), m.end()))
        ]
        if not hits:
            continue
        terms = _quote(_dedupe(hits))
        if lex.kind is _Kind.AGE_RESTRICTED:
            if ctx.campaign_age_gated is True:
                continue
            known = ctx.campaign_age_gated is False
            reasons.append(
                _reason(
                    ReasonCode.AGE_GATE_REQUIRED,
                    "R-CT-02",
                    f"The message mentions {lex.label} ({terms}); {lex.label} content may be "
                    + (
                        "sent only on a campaign registered as age-gated, and this one is not."
                        if known
                        else "sent only on a campaign registered as age-gated (no campaign "
                        "was given to check)."
                    ),
                    "Send it through an age-gated (21+) campaign with a working age gate, "
                    "or remove the reference.",
                    Severity.BLOCK if known else Severity.WARN,
                )
            )
            continue
        severity_text = (
            "is disallowed on US carriers"
            if lex.kind is _Kind.DISALLOWED
            else "is a high-risk category carriers reject"
        )
        reasons.append(
            _reason(
                ReasonCode.PROHIBITED_CONTENT,
                "R-CT-02",
                f"The message contains {lex.label} content ({terms}), which {severity_text}.",
                f"Remove the {lex.label} content; it cannot be sent from this platform.",
            )
        )
    return tuple(reasons)


def check_url_shorteners(urls: Iterable[str]) -> tuple[Reason, ...]:
    """R-CT-03 / T-18: public URL shorteners get the message filtered and the campaign
    rejected (Twilio 30963; AT&T and T-Mobile codes of conduct)."""
    bad = [u for u in urls if is_public_shortener(u)]
    if not bad:
        return ()
    return (
        _reason(
            ReasonCode.PUBLIC_URL_SHORTENER,
            "R-CT-03",
            f"The message links through a public URL shortener ({_quote(bad)}); carriers "
            "filter shared shortener domains.",
            "Use the full URL or a branded short domain the business owns.",
        ),
    )


def check_link_domains(urls: Iterable[str], ctx: ContentContext) -> tuple[Reason, ...]:
    """R-CT-03 / receptionist.md §2.3 item 6: links only to the tenant's registered
    domains (no URL cycling, nothing the LLM invented, T-21). A warning."""
    if not ctx.allowed_link_domains:
        return ()
    allowed = frozenset(d.strip().lower().strip(".") for d in ctx.allowed_link_domains)
    foreign = [
        u for u in urls if not is_public_shortener(u) and not _domain_in(_host_of(u), allowed)
    ]
    if not foreign:
        return ()
    return (
        _reason(
            ReasonCode.EMBEDDED_LINK_NOT_IN_CAMPAIGN,
            "R-CT-03",
            f"The message links to {_quote(foreign)}, outside the business's registered link "
            f"domains ({', '.join(sorted(allowed))}).",
            "Link only to a registered domain, or register this domain for the business.",
            Severity.WARN,
        ),
    )


def check_embedded_links(urls: tuple[str, ...], ctx: ContentContext) -> tuple[Reason, ...]:
    """R-CT-03 / R-CT-05: a link in a message needs a campaign registered with
    ``embeddedLink=true``; otherwise the traffic does not match the registration."""
    if not urls or ctx.campaign_embedded_links is not False:
        return ()
    return (
        _reason(
            ReasonCode.EMBEDDED_LINK_NOT_IN_CAMPAIGN,
            "R-CT-03",
            f"The message contains a link ({_quote(urls)}) but its campaign was registered "
            "without embedded links.",
            "Remove the link, or register (and get approved) a campaign with embedded links.",
        ),
    )


def check_embedded_phones(phones: tuple[str, ...], ctx: ContentContext) -> tuple[Reason, ...]:
    """R-CT-04 / CTIA §5.3.3: an embedded phone number needs ``embeddedPhone=true`` on
    the campaign and must belong to the business (warning when it is not among the
    tenant's numbers)."""
    if not phones:
        return ()
    reasons: list[Reason] = []
    if ctx.campaign_embedded_phone is False:
        reasons.append(
            _reason(
                ReasonCode.EMBEDDED_PHONE_NOT_IN_CAMPAIGN,
                "R-CT-04",
                f"The message contains a phone number ({_quote(phones)}) but its campaign was "
                "registered without embedded phone numbers.",
                "Remove the number, or register a campaign with embedded phone numbers.",
            )
        )
    if ctx.tenant_numbers:
        owned = frozenset(_e164(n) for n in ctx.tenant_numbers)
        foreign = [p for p in phones if p not in owned]
        if foreign:
            reasons.append(
                _reason(
                    ReasonCode.EMBEDDED_PHONE_NOT_IN_CAMPAIGN,
                    "R-CT-04",
                    f"The message contains {_quote(foreign)}, which is not one of the "
                    "business's verified numbers.",
                    "Use one of the business's own numbers, or verify this number first.",
                    Severity.WARN,
                )
            )
    return tuple(reasons)


def check_business_name(body: str, ctx: ContentContext) -> tuple[Reason, ...]:
    """R-CT-01 (CTIA; carrier codes of conduct): the first message to a contact and every
    automated message name the business the consumer recognises."""
    required = ctx.first_message_to_contact or ctx.category in AUTOMATED
    if not required or names_business(body, ctx.business_name):
        return ()
    why = (
        "the first message to a contact"
        if ctx.first_message_to_contact
        else f"every automated {ctx.category.value} message"
    )
    name = ctx.business_name.strip() or "(no business name set)"
    return (
        _reason(
            ReasonCode.MISSING_BUSINESS_NAME,
            "R-CT-01",
            f"The message does not name the business ({name}); {why} must identify the sender.",
            f'Start the message with the business name, e.g. "{name}: ...".',
        ),
    )


def check_opt_out_language(
    body: str, ctx: ContentContext, effective: Category
) -> tuple[Reason, ...]:
    """R-K-08 / R-C-06 (CTIA practice, platform policy): the first message to a contact,
    every marketing message and every missed-call follow-up say how to opt out, and a
    recurring program says it again at least monthly (``ctx.opt_out_notice_due``)."""
    required = (
        ctx.first_message_to_contact
        or effective is Category.MARKETING
        or ctx.category is Category.MISSED_CALL_FOLLOWUP
        or ctx.opt_out_notice_due
    )
    if not required or has_opt_out_language(body):
        return ()
    if ctx.first_message_to_contact:
        why = "the first message to a contact"
    elif effective is Category.MARKETING:
        why = "every marketing message"
    elif ctx.category is Category.MISSED_CALL_FOLLOWUP:
        why = "a missed-call follow-up"
    else:
        why = (
            "this contact has not been told how to opt out for more than 30 days, and "
            "recurring messages repeat it at least monthly, so this one"
        )
    return (
        _reason(
            ReasonCode.MISSING_OPT_OUT_LANGUAGE,
            "R-K-08",
            f"The message has no opt-out instructions; {why} must say how to stop texts.",
            'Add "Reply STOP to opt out" (keyword written on its own, not "STOP2END").',
        ),
    )


def check_joined_opt_out_keywords(body: str) -> tuple[Reason, ...]:
    """R-K-08 / T-24: joined keywords like "STOP2END" are rejected by carriers, and a
    person who types them does not match an exact-keyword opt-out."""
    t = _prepare(body)
    joined = _dedupe(
        t.norm[m.start("joined") : m.end("joined")] for m in _JOINED_RE.finditer(t.low)
    )
    if not joined:
        return ()
    return (
        _reason(
            ReasonCode.MISSING_OPT_OUT_LANGUAGE,
            "R-K-08",
            f"The opt-out keyword is joined to other text ({_quote(joined)}); carriers "
            "reject this form.",
            'Write the keyword on its own with spaces: "Reply STOP to end".',
        ),
    )


def check_reserved_keyword_misuse(body: str) -> tuple[Reason, ...]:
    """R-K-08 / receptionist.md §1.6 (R-K-01, R-FCC-01): an opt-out word (STOP, CANCEL,
    END, QUIT, …) must never be the answer for anything but opting out; carriers act on
    it before the platform sees it, so "Reply CANCEL to cancel your visit" opts people out."""
    t = _prepare(body)
    low = t.low
    if not any(trigger in low for trigger in _RESERVED_TRIGGERS):
        return ()
    mentions_service = _SERVICE_OBJECT_RE.search(low) is not None
    misused: list[str] = []
    for hit in _RESERVED_HIT_RE.finditer(low):
        kw, start, end = hit.group(0), hit.start(), hit.end()
        upper = t.norm[start:end].isupper()
        before = _VERB_BEFORE_RE.search(low, max(0, start - 40), start)
        quoted = before is not None and before.group("q") is not None
        real_verb = before is not None and before.group("verb") not in {"or", "and"}
        after = _RESERVED_AFTER_RE.match(low, end)
        if after and (real_verb or upper or quoted):
            if not _purpose_is_opt_out(
                after.group("purpose"), kw, after.group("conj"), mentions_service
            ):
                begin = before.start() if before else start
                misused.append(" ".join(t.norm[begin : after.end()].split()))
            continue
        if not (upper or quoted):
            continue
        reversed_ = _PURPOSE_BEFORE_RE.search(low, max(0, start - 100), start)
        if reversed_ and not _purpose_is_opt_out(
            reversed_.group("purpose"), kw, "to", mentions_service
        ):
            misused.append(" ".join(t.norm[reversed_.start() : end].split()))
    if not misused:
        return ()
    return (
        _reason(
            ReasonCode.PROHIBITED_CONTENT,
            "R-K-08 / receptionist.md §1.6",
            f"The message asks for an opt-out keyword for another purpose ({_quote(misused)}); "
            "carriers treat that reply as an opt-out.",
            'Use other answers ("Reply C to confirm, R to reschedule" or digits) and keep '
            '"Reply STOP to opt out" for opting out only.',
        ),
    )


def check_promotional_language(
    terms: tuple[str, ...], ctx: ContentContext
) -> tuple[tuple[Reason, ...], Category]:
    """R-C-02 (dual-purpose, T-13), R-C-06, R-B-04: promotional words make a text
    marketing, which needs written consent (PEWC) and a marketing campaign; a missed-call
    follow-up must stay purely informational. Returns the reasons and the effective
    category."""
    if not terms:
        return (), ctx.category
    listed = _quote(terms)
    if ctx.category is Category.MISSED_CALL_FOLLOWUP:
        return (
            _reason(
                ReasonCode.PROHIBITED_CONTENT,
                "R-C-06",
                f"A missed-call follow-up must be informational only, but this one promotes "
                f"({listed}).",
                "Remove the offer; send promotions only as marketing with written consent.",
            ),
        ), Category.MARKETING
    if ctx.category in INFORMATIONAL:
        return (
            _reason(
                ReasonCode.MARKETING_REQUIRES_WRITTEN_CONSENT,
                "R-C-02",
                f"This {ctx.category.value} message contains promotional language ({listed}) "
                "and is treated as marketing (dual-purpose).",
                "Remove the promotion, or send it as marketing to contacts with written "
                "marketing consent over a marketing campaign.",
                Severity.WARN,
            ),
        ), Category.MARKETING
    return (), ctx.category


# --------------------------------------------------------------------------- compliance replies

_CONFIRMS_STOP_RE = re.compile(
    r"\b(?:unsubscribed|opted[\s-]?out|will\s+not\s+(?:receive|get)|won'?t\s+(?:receive|get)|"
    r"no\s+(?:more|further|longer)|(?:been\s+)?removed|stopped|dado\s+de\s+baja|"
    r"no\s+recibir[aá]s?)\b",
)
_OPT_IN_PROGRAM_RE = re.compile(
    r"\b(?:subscribed|signed\s+up|opted[\s-]?in|enrolled|you'?re\s+in|you\s+are\s+in|welcome|"
    r"confirmed|joined|(?:will|you'?ll)\s+(?:now\s+)?(?:receive|get)|now\s+receive|"
    r"thanks\s+for\s+(?:joining|subscribing|signing\s+up))\b",
)
_FREQUENCY_RE = re.compile(
    r"\b(?:(?:msg|message)s?\s*(?:freq(?:uency)?\.?)\s*(?:varies|may\s+vary)|"
    r"frequency\s+varies|up\s+to\s+\d+\s*(?:msgs?|messages?|texts?)|"
    r"\d+\s*(?:msgs?|messages?|texts?)\s*(?:/|per|a|each)\s*(?:mo|month|wk|week|day)\b|"
    r"recurring\s+(?:msgs|messages|texts))",
)
_RATES_RE = re.compile(
    r"\b(?:msg|message)s?\s*(?:&|and|\+)\s*data\s+rates?\s+(?:may|might|will|can)\s+apply",
)
_HELP_RE = re.compile(
    r"\b(?:reply|text|txt|send)\s+[\"']?help\b|\bhelp\s+(?:for|para)\s+(?:help|info|ayuda)\b",
)
_DISCLOSURE_MISSING = ReasonCode.MISSING_OPT_OUT_LANGUAGE


def _missing(rule: str, what: str, fix: str) -> Reason:
    return _reason(_DISCLOSURE_MISSING, rule, f"The reply is missing {what}.", fix)


def _compliance_marketing(
    rule: str, kind: Category, terms: tuple[str, ...], bad_urls: list[str]
) -> tuple[Reason, ...]:
    parts = []
    if terms:
        parts.append(f"promotional language ({_quote(terms)})")
    if bad_urls:
        parts.append(f"links other than a customer-care URL ({_quote(bad_urls)})")
    if not parts:
        return ()
    return (
        _reason(
            ReasonCode.COMPLIANCE_REPLY_HAS_MARKETING,
            rule,
            f"The {kind.value.replace('_', ' ')} contains " + " and ".join(parts) + ".",
            "Compliance replies carry no offers and no links except a help/contact URL.",
        ),
    )


def check_help_reply(body: str, business_name: str) -> tuple[Reason, ...]:
    """R-K-03 (CTIA; carriers; TCR ``helpMessage``): a HELP reply names the brand, gives a
    customer-care contact (phone, email or URL) and says how to opt out."""
    t = _prepare(body)
    reasons: list[Reason] = []
    if not names_business(body, business_name):
        reasons.append(_missing_name("R-K-03", business_name))
    has_contact = bool(_find_phones(t) or _EMAIL_RE.search(t.low) or _find_urls(t))
    if not has_contact:
        reasons.append(
            _missing(
                "R-K-03",
                "a customer-care contact (phone number, email or URL)",
                "Add the business's support phone number, email or help URL.",
            )
        )
    if not has_opt_out_language(body):
        reasons.append(
            _missing("R-K-03", 'opt-out instructions', 'Add "Reply STOP to opt out".')
        )
    return tuple(reasons)


def check_opt_out_confirmation(body: str, business_name: str) -> tuple[Reason, ...]:
    """R-K-04 / R-FCC-03 (47 CFR 64.1200(a)(12)): the one opt-out confirmation names the
    brand, confirms no more messages will be sent, and carries no marketing and no links
    other than a care URL."""
    low = _prepare(body).low
    reasons: list[Reason] = []
    if not names_business(body, business_name):
        reasons.append(_missing_name("R-K-04", business_name))
    if not _CONFIRMS_STOP_RE.search(low):
        reasons.append(
            _missing(
                "R-K-04",
                "a confirmation that no more messages will be sent",
                'Say so plainly, e.g. "you\'re unsubscribed and won\'t get more texts".',
            )
        )
    return tuple(reasons)


def check_opt_in_confirmation(body: str, business_name: str) -> tuple[Reason, ...]:
    """R-K-05 (CTIA §5.1.2.1; Twilio 30540): the opt-in confirmation names the brand,
    confirms the program, states frequency and "Msg & data rates may apply", and gives
    HELP and STOP instructions."""
    low = _prepare(body).low
    reasons: list[Reason] = []
    if not names_business(body, business_name):
        reasons.append(_missing_name("R-K-05", business_name))
    required = (
        (_OPT_IN_PROGRAM_RE, "a confirmation of the subscription", 'e.g. "you\'re subscribed"'),
        (_FREQUENCY_RE, "the message frequency", 'e.g. "Msg freq varies" or "up to 4 msgs/mo"'),
        (_RATES_RE, 'the "Msg & data rates may apply" notice', '"Msg & data rates may apply"'),
        (_HELP_RE, "HELP instructions", '"Reply HELP for help"'),
    )
    for pattern, what, example in required:
        if not pattern.search(low):
            reasons.append(_missing("R-K-05", what, f"Add {example}."))
    if not has_opt_out_language(body):
        reasons.append(_missing("R-K-05", "opt-out instructions", 'Add "Reply STOP to opt out".'))
    return tuple(reasons)


def _missing_name(rule: str, business_name: str) -> Reason:
    name = business_name.strip() or "(no business name set)"
    return _reason(
        ReasonCode.MISSING_BUSINESS_NAME,
        rule,
        f"The reply does not name the business ({name}).",
        f'Start the reply with "{name}:".',
    )


_COMPLIANCE_CHECKS = {
    Category.HELP_REPLY: ("R-K-03", check_help_reply),
    Category.OPT_OUT_CONFIRMATION: ("R-K-04 / R-FCC-03", check_opt_out_confirmation),
    Category.OPT_IN_CONFIRMATION: ("R-K-05", check_opt_in_confirmation),
}


def screen_compliance_reply(body: str, business_name: str, kind: Category) -> tuple[Reason, ...]:
    """Lint a compliance reply (R-K-03 HELP, R-K-04 / R-FCC-03 opt-out confirmation, R-K-05
    opt-in confirmation): required elements, no promotional words (R-FCC-03) and, in an
    opt-out confirmation, no link other than a customer-care URL (R-K-04)."""
    if kind not in _COMPLIANCE_CHECKS:
        raise ValueError(f"{kind.value} is not a compliance reply")
    rule, check = _COMPLIANCE_CHECKS[kind]
    t = _prepare(body)
    reasons = list(check(body, business_name))
    terms = _promo_terms(t)
    urls = _find_urls(t)
    bad_urls: list[str] = []
    if kind is Category.OPT_OUT_CONFIRMATION:
        bad_urls = [u for u in urls if not _is_care_url(u)]
    reasons.extend(_compliance_marketing(rule, kind, terms, bad_urls))
    return tuple(reasons)


# --------------------------------------------------------------------------- screen


def screen(body: str, ctx: ContentContext) -> ContentFindings:
    """Run every content rule on an outbound body and explain the findings.

    Results are memoised on ``(body, ctx)`` (both immutable): a batch repeats its
    template, and every message is screened again at hand-off.
    """
    return _screen_cached(body, ctx)


@lru_cache(maxsize=8192)
def _screen_cached(body: str, ctx: ContentContext) -> ContentFindings:
    t = _prepare(body)
    text = body
    urls = _find_urls(t)
    phones = _find_phones(t)
    terms = _promo_terms(t)
    compliance = ctx.category in COMPLIANCE_REPLIES

    reasons: list[Reason] = []
    reasons.extend(check_prohibited_content(text, ctx))
    reasons.extend(check_url_shorteners(urls))
    if compliance:
        reasons.extend(screen_compliance_reply(text, ctx.business_name, ctx.category))
        effective = ctx.category
    else:
        promo_reasons, effective = check_promotional_language(terms, ctx)
        reasons.extend(check_business_name(text, ctx))
        reasons.extend(check_opt_out_language(text, ctx, effective))
        reasons.extend(promo_reasons)
        reasons.extend(check_embedded_links(urls, ctx))
    reasons.extend(check_link_domains(urls, ctx))
    if compliance:
        reasons.extend(check_embedded_phones(phones, _without_campaign_flags(ctx)))
    else:
        reasons.extend(check_embedded_phones(phones, ctx))
    reasons.extend(check_joined_opt_out_keywords(text))
    reasons.extend(check_reserved_keyword_misuse(text))
    return ContentFindings(
        reasons=tuple(reasons),
        effective_category=effective,
        promotional_terms=terms,
        urls=urls,
        phone_numbers=phones,
    )


def _without_campaign_flags(ctx: ContentContext) -> ContentContext:
    """Compliance replies are registered separately from campaign samples (TCR
    ``helpMessage``/``stopMessage``), so campaign embed flags do not apply to them."""
    return ContentContext(
        business_name=ctx.business_name,
        category=ctx.category,
        first_message_to_contact=ctx.first_message_to_contact,
        tenant_numbers=ctx.tenant_numbers,
        allowed_link_domains=ctx.allowed_link_domains,
    )
