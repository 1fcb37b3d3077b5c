"""10DLC brand and campaign registration, and whether a sender may carry a message.

Three concerns, all pure (standard library, ``phonenumbers`` and sibling domain
modules only; no clock, no I/O):

* :func:`validate_brand` and :func:`validate_campaign` check a registration
  payload against The Campaign Registry's enums and bounds (R-R-02, R-R-03) and
  the carriers' review practice (brand name and opt-out text in samples, no public
  shorteners, embedded link / phone / age-gate / direct-lending flags that match
  the samples; R-CT-02, R-CT-03, R-CT-04, R-K-03, R-K-04). Every finding is a
  :class:`Problem` naming its rule id; ``fatal`` ones are malformed input (the API
  answers 422), the others keep a campaign in ``draft`` or a brand ``unverified``.
* :func:`campaign_allows` is the R-CT-05 map from message category to the
  registered use cases that may carry it.
* :func:`sender_reasons` is the gate rule built on both: a US long code sends only
  under an ``approved`` campaign (R-R-01) and only within its use case (R-CT-05).
  Toll-free numbers need verification instead (R-R-05); that is modelled as the
  status of the campaign the number is linked to (``approved`` = verified), which
  keeps one registration record per sender. Compliance replies (HELP, opt-out and
  opt-in confirmations) are never blocked here: the carrier requires them.
  :func:`choose_sender` applies the same rule to pick the sending number when the
  caller names none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers

from frontdesk.domain import content
from frontdesk.domain.messages import COMPLIANCE_REPLIES, Category
from frontdesk.domain.reasons import Reason, ReasonCode

# --------------------------------------------------------------------------- TCR enums

ENTITY_TYPES: frozenset[str] = frozenset(
    {"PRIVATE_PROFIT", "PUBLIC_PROFIT", "NON_PROFIT", "GOVERNMENT", "SOLE_PROPRIETOR"}
)
SOLE_PROPRIETOR = "SOLE_PROPRIETOR"

VERTICALS: frozenset[str] = frozenset(
    {
        "AGRICULTURE", "COMMUNICATION", "CONSTRUCTION", "EDUCATION", "ENERGY", "ENTERTAINMENT",
        "FINANCIAL", "GAMBLING", "GOVERNMENT", "HEALTHCARE", "HOSPITALITY", "HUMAN_RESOURCES",
        "INSURANCE", "LEGAL", "MANUFACTURING", "NGO", "POLITICAL", "POSTAL", "PROFESSIONAL",
        "REAL_ESTATE", "RETAIL", "TECHNOLOGY", "TRANSPORTATION",
    }
)  # fmt: skip

STANDARD_USE_CASES: frozenset[str] = frozenset(
    {
        "2FA", "ACCOUNT_NOTIFICATION", "CUSTOMER_CARE", "DELIVERY_NOTIFICATION", "FRAUD_ALERT",
        "HIGHER_EDUCATION", "LOW_VOLUME", "MARKETING", "MIXED", "POLLING_VOTING",
        "PUBLIC_SERVICE_ANNOUNCEMENT", "SECURITY_ALERT",
    }
)  # fmt: skip
SPECIAL_USE_CASES: frozenset[str] = frozenset(
    {
        "AGENTS_FRANCHISES", "CARRIER_EXEMPT", "CHARITY", "EMERGENCY", "K12_EDUCATION",
        "POLITICAL", "PROXY", "SOCIAL", "SWEEPSTAKE", "SOLE_PROPRIETOR",
    }
)  # fmt: skip
USE_CASES: frozenset[str] = STANDARD_USE_CASES | SPECIAL_USE_CASES
# A MIXED (or LOW_VOLUME) campaign names the standard use cases it combines.
SUB_USE_CASES: frozenset[str] = STANDARD_USE_CASES - {"MIXED", "LOW_VOLUME"}
CONTAINER_USE_CASES: frozenset[str] = frozenset({"MIXED", "LOW_VOLUME"})

CAMPAIGN_STATUSES: frozenset[str] = frozenset(
    {"draft", "submitted", "approved", "rejected", "suspended"}
)
APPROVED = "approved"

# --------------------------------------------------------------------------- bounds (R-R-03)

DESCRIPTION_LEN = (40, 4096)
MESSAGE_FLOW_LEN = (40, 2048)
SAMPLE_LEN = (20, 1024)
SAMPLE_COUNT = (2, 5)
SUB_USE_CASE_COUNT = (2, 5)
REPLY_LEN = (20, 255)

# Free mailbox providers: TCR and Authentication+ reject a brand whose business
# email is on one of these (R-R-02); the list is the common US consumer set.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "rocketmail.com", "hotmail.com",
        "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com",
        "protonmail.com", "proton.me", "pm.me", "gmx.com", "gmx.net", "mail.com", "yandex.com",
        "zoho.com", "hushmail.com", "tutanota.com", "fastmail.com", "comcast.net",
        "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net", "cox.net", "charter.net",
        "earthlink.net", "juno.com", "inbox.com", "qq.com", "163.com",
    }
)  # fmt: skip

# IRS campus prefixes that have never been assigned to an EIN.
_INVALID_EIN_PREFIXES: frozenset[str] = frozenset(
    {"00", "07", "08", "09", "17", "18", "19", "28", "29", "49", "69", "70", "78", "79", "89",
     "96", "97"}
)  # fmt: skip

_EIN_RE = re.compile(r"^\d{2}-\d{7}$")
_EIN_BARE_RE = re.compile(r"^\d{9}$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$")
_HOST_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$")
_LENDING_RE = re.compile(
    r"\b(?:loans?|lending|lender|line\s+of\s+credit|cash\s+advances?|title\s+loans?)\b", re.I
)
_AGE_GATE_FLOW_RE = re.compile(
    r"\b(?:21\+|21\s+(?:or|and)\s+(?:older|over)|age\s+(?:gate|verification|verified)|"
    r"date\s+of\s+birth|dob|verify\s+(?:your|their)\s+age)\b",
    re.I,
)

# --------------------------------------------------------------------------- problems


@dataclass(frozen=True, slots=True)
class Problem:
    """One registration finding: a stable ``code``, the ``field`` at fault, the rule id
    and a sentence that says what is wrong and what carriers expect instead."""

    code: str
    field: str
    rule: str
    message: str
    fatal: bool = False

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "rule": self.rule, "message": self.message}


def _problem(code: str, field: str, rule: str, text: str, *, fatal: bool = False) -> Problem:
    return Problem(code=code, field=field, rule=rule, message=f"{rule}: {text}", fatal=fatal)


def _length(value: str, field: str, bounds: tuple[int, int], rule: str, code: str) -> list[Problem]:
    low, high = bounds
    n = len(value.strip())
    if low <= n <= high:
        return []
    return [
        _problem(
            code,
            field,
            rule,
            f"{field} has {n} characters; The Campaign Registry accepts {low}-{high}.",
        )
    ]


# --------------------------------------------------------------------------- brands (R-R-02)


@dataclass(frozen=True, slots=True)
class BrandInput:
    legal_name: str
    ein: str | None
    entity_type: str
    vertical: str
    website: str
    email: str
    phone: str


def normalise_ein(ein: str | None) -> str | None:
    """``123456789`` and ``12-3456789`` both become ``12-3456789``; blanks become None."""
    if ein is None or not ein.strip():
        return None
    s = ein.strip()
    if _EIN_BARE_RE.match(s):
        return f"{s[:2]}-{s[2:]}"
    return s


def website_host(website: str) -> str | None:
    """The lower-case host of an http(s) website, ``www.`` removed; None when malformed."""
    s = website.strip().lower()
    if "://" in s:
        scheme, s = s.split("://", 1)
        if scheme not in ("http", "https"):
            return None
    host = re.split(r"[/?#]", s, maxsplit=1)[0].split(":", 1)[0].strip(".")
    if not _HOST_RE.match(host):
        return None
    return host.removeprefix("www.")


def email_domain(email: str) -> str | None:
    m = _EMAIL_RE.match(email.strip())
    return m.group(1).lower() if m else None


def _same_site(a: str, b: str) -> bool:
    """True when one host is the other or a subdomain of it (``mail.acme.com`` ~
    ``acme.com``). Without the public-suffix list, sibling subdomains do not match."""
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def validate_brand(brand: BrandInput) -> tuple[Problem, ...]:
    """R-R-02: the brand record TCR vets. Each tenant is its own brand (no ISV brand).

    Fatal (422): unknown ``entity_type`` or ``vertical``, a blank legal name, an EIN
    missing or not ``NN-NNNNNNN`` (an EIN given for a sole proprietor, who registers
    without one), a malformed website, email or phone. Not fatal but leaving the
    brand ``unverified`` (TCR would fail identity vetting, R-R-06): an EIN prefix the
    IRS never issued, a free-mail business email, an email domain that is not the
    website's, a website on a public shortener. Sole proprietors may use a personal
    mailbox (TCR verifies them by OTP to a mobile number instead).
    """
    rule = "R-R-02"
    out: list[Problem] = []
    if not brand.legal_name.strip():
        out.append(
            _problem(
                "legal_name_missing",
                "legal_name",
                rule,
                "give the legal name exactly as on IRS records.",
                fatal=True,
            )
        )
    if brand.entity_type not in ENTITY_TYPES:
        out.append(
            _problem(
                "invalid_entity_type",
                "entity_type",
                rule,
                f"entity_type must be one of {', '.join(sorted(ENTITY_TYPES))}.",
                fatal=True,
            )
        )
    if brand.vertical not in VERTICALS:
        out.append(
            _problem(
                "invalid_vertical",
                "vertical",
                rule,
                f"vertical must be one of TCR's verticals ({', '.join(sorted(VERTICALS))}).",
                fatal=True,
            )
        )
    sole = brand.entity_type == SOLE_PROPRIETOR
    ein = normalise_ein(brand.ein)
    if sole and ein is not None:
        out.append(
            _problem(
                "ein_not_for_sole_proprietor",
                "ein",
                rule,
                "sole proprietors register without an EIN (TCR verifies them by "
                "a one-time code to a mobile number); leave ein empty.",
                fatal=True,
            )
        )
    elif not sole and ein is None:
        out.append(
            _problem(
                "ein_required",
                "ein",
                rule,
                "an EIN (NN-NNNNNNN) is required for every entity type except SOLE_PROPRIETOR.",
                fatal=True,
            )
        )
    elif ein is not None and not _EIN_RE.match(ein):
        out.append(
            _problem(
                "ein_invalid_format",
                "ein",
                rule,
                "the EIN must be nine digits written NN-NNNNNNN.",
                fatal=True,
            )
        )
    elif ein is not None and ein[:2] in _INVALID_EIN_PREFIXES:
        out.append(
            _problem(
                "ein_invalid_prefix",
                "ein",
                rule,
                f"EIN prefix {ein[:2]} was never issued by the IRS; TCR will not "
                "verify this brand. Check the number on the IRS letter (CP 575).",
            )
        )
    host = website_host(brand.website)
    if host is None:
        out.append(
            _problem(
                "invalid_website",
                "website",
                rule,
                "website must be the business's public http(s) site, e.g. "
                "https://brightsmile.example.",
                fatal=True,
            )
        )
    elif content.is_public_shortener(host):
        out.append(
            _problem(
                "website_shortener",
                "website",
                "R-CT-03",
                f"{host} is a public URL shortener; give the business's own domain.",
            )
        )
    domain = email_domain(brand.email)
    if domain is None:
        out.append(
            _problem(
                "invalid_email",
                "email",
                rule,
                "email must be a business address such as hello@brightsmile.example.",
                fatal=True,
            )
        )
    elif not sole:
        if domain in FREE_MAIL_DOMAINS:
            out.append(
                _problem(
                    "free_mail_domain",
                    "email",
                    rule,
                    f"{domain} is a free mailbox provider; TCR and Authentication+ "
                    "require an address on the business's own domain.",
                )
            )
        elif host is not None and not _same_site(domain, host):
            out.append(
                _problem(
                    "email_domain_mismatch",
                    "email",
                    rule,
                    f"the email domain {domain} is not the website's domain {host}; "
                    "use an address on the website's domain.",
                )
            )
    parsed = _parse_phone(brand.phone)
    if parsed is None:
        out.append(
            _problem(
                "invalid_phone",
                "phone",
                rule,
                "phone must be a valid number, e.g. +14155550100.",
                fatal=True,
            )
        )
    return tuple(out)


def _parse_phone(text: str) -> phonenumbers.PhoneNumber | None:
    if not text.strip() or len(text) > 40:
        return None
    try:
        num = phonenumbers.parse(text, "US")
    except phonenumbers.NumberParseException:
        return None
    return num if phonenumbers.is_valid_number(num) else None


# --------------------------------------------------------------------------- campaigns (R-R-03)


@dataclass(frozen=True, slots=True)
class CampaignInput:
    use_case: str
    description: str
    message_flow: str
    sample_messages: tuple[str, ...]
    help_message: str
    optout_message: str
    embedded_links: bool = False
    embedded_phone: bool = False
    age_gated: bool = False
    direct_lending: bool = False
    sub_use_cases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BrandFacts:
    """What the campaign check needs of its brand: the names a consumer recognises
    (legal name and DBA), the entity type and vertical, and the vetting status."""

    names: tuple[str, ...]
    entity_type: str
    vertical: str
    verified: bool = True


def _primary(brand: BrandFacts) -> str:
    return brand.names[0] if brand.names else ""


def _names_brand(text: str, names: tuple[str, ...]) -> bool:
    return any(content.names_business(text, n) for n in names if n.strip())


def _phones_in(text: str) -> tuple[str, ...]:
    if sum(ch.isdigit() for ch in text) < 7:
        return ()
    return tuple(
        phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164)
        for m in phonenumbers.PhoneNumberMatcher(text, "US")
    )


def _check_use_case(c: CampaignInput, brand: BrandFacts) -> list[Problem]:
    rule = "R-R-03"
    out: list[Problem] = []
    if c.use_case not in USE_CASES:
        out.append(
            _problem(
                "invalid_use_case",
                "use_case",
                rule,
                f"use_case must be one of {', '.join(sorted(USE_CASES))}.",
                fatal=True,
            )
        )
        return out
    unknown = [s for s in c.sub_use_cases if s not in SUB_USE_CASES]
    if unknown:
        out.append(
            _problem(
                "invalid_sub_use_case",
                "sub_use_cases",
                rule,
                f"{', '.join(unknown)} cannot be a sub-use-case; use standard use "
                f"cases ({', '.join(sorted(SUB_USE_CASES))}).",
                fatal=True,
            )
        )
        return out
    subs = c.sub_use_cases
    if len(set(subs)) != len(subs):
        out.append(
            _problem(
                "duplicate_sub_use_case",
                "sub_use_cases",
                rule,
                "each sub-use-case may be named once.",
            )
        )
    low, high = SUB_USE_CASE_COUNT
    if c.use_case == "MIXED" and not low <= len(set(subs)) <= high:
        out.append(
            _problem(
                "sub_use_case_count",
                "sub_use_cases",
                rule,
                f"a MIXED campaign combines {low}-{high} standard use cases; "
                f"{len(set(subs))} given.",
            )
        )
    elif c.use_case == "LOW_VOLUME" and len(set(subs)) > high:
        out.append(
            _problem(
                "sub_use_case_count",
                "sub_use_cases",
                rule,
                f"a LOW_VOLUME campaign names at most {high} sub-use-cases.",
            )
        )
    elif c.use_case not in CONTAINER_USE_CASES and subs:
        out.append(
            _problem(
                "sub_use_cases_not_allowed",
                "sub_use_cases",
                rule,
                "only MIXED and LOW_VOLUME campaigns take sub-use-cases.",
            )
        )
    sole_brand = brand.entity_type == SOLE_PROPRIETOR
    if sole_brand != (c.use_case == SOLE_PROPRIETOR):
        out.append(
            _problem(
                "sole_proprietor_use_case",
                "use_case",
                "R-R-02",
                "a SOLE_PROPRIETOR brand registers exactly the SOLE_PROPRIETOR use "
                "case, and only such a brand may use it.",
            )
        )
    return out


def _check_samples(c: CampaignInput, brand: BrandFacts) -> list[Problem]:
    rule = "R-R-03"
    out: list[Problem] = []
    samples = c.sample_messages
    low, high = SAMPLE_COUNT
    if not low <= len(samples) <= high:
        out.append(
            _problem(
                "sample_count",
                "sample_messages",
                rule,
                f"give {low}-{high} sample messages; {len(samples)} given.",
            )
        )
    stripped = [s.strip().casefold() for s in samples]
    if len(set(stripped)) != len(stripped):
        out.append(
            _problem(
                "sample_duplicate",
                "sample_messages",
                rule,
                "sample messages must be distinct; carriers reject copies.",
            )
        )
    if c.use_case == "MIXED" and len(samples) < len(set(c.sub_use_cases)):
        out.append(
            _problem(
                "samples_per_sub_use_case",
                "sample_messages",
                "R-CT-05",
                "a MIXED campaign needs one sample per sub-use-case "
                f"({len(set(c.sub_use_cases))}); {len(samples)} given.",
            )
        )
    urls: list[str] = []
    phones: list[str] = []
    for i, sample in enumerate(samples):
        field = f"sample_messages.{i}"
        out.extend(_length(sample, field, SAMPLE_LEN, rule, "sample_length"))
        if not _names_brand(sample, brand.names):
            out.append(
                _problem(
                    "sample_missing_brand",
                    field,
                    "R-CT-01",
                    f"sample {i + 1} does not name the brand ({_primary(brand)}); "
                    "every sample must identify the sender.",
                )
            )
        if not content.has_opt_out_language(sample):
            out.append(
                _problem(
                    "sample_missing_opt_out",
                    field,
                    "R-K-08",
                    f'sample {i + 1} has no opt-out text; add "Reply STOP to opt out".',
                )
            )
        found = content.find_urls(sample)
        short = [u for u in found if content.is_public_shortener(u)]
        if short:
            out.append(
                _problem(
                    "sample_public_shortener",
                    field,
                    "R-CT-03",
                    f"sample {i + 1} links through a public URL shortener "
                    f"({', '.join(short)}); carriers reject the campaign (Twilio "
                    "30963). Use the full URL or a branded short domain.",
                )
            )
        urls.extend(found)
        phones.extend(_phones_in(sample))
        ctx = content.ContentContext(
            business_name=_primary(brand),
            category=Category.MARKETING,
            first_message_to_contact=False,
            campaign_age_gated=c.age_gated,
        )
        for reason in content.check_prohibited_content(sample, ctx):
            code = (
                "age_gate_undeclared"
                if reason.code is ReasonCode.AGE_GATE_REQUIRED
                else "sample_prohibited_content"
            )
            out.append(
                _problem(
                    code,
                    "age_gated" if code == "age_gate_undeclared" else field,
                    reason.rule,
                    f"sample {i + 1}: {reason.message}",
                )
            )
    if urls and not c.embedded_links:
        out.append(
            _problem(
                "embedded_links_undeclared",
                "embedded_links",
                "R-CT-03",
                "the samples contain links; set embedded_links to true so the "
                "registration matches the traffic.",
            )
        )
    if phones and not c.embedded_phone:
        out.append(
            _problem(
                "embedded_phone_undeclared",
                "embedded_phone",
                "R-CT-04",
                "the samples contain phone numbers; set embedded_phone to true.",
            )
        )
    return out


def _check_flags(c: CampaignInput, brand: BrandFacts) -> list[Problem]:
    out: list[Problem] = []
    if c.age_gated and not _AGE_GATE_FLOW_RE.search(c.message_flow):
        out.append(
            _problem(
                "age_gate_flow_missing",
                "message_flow",
                "R-CT-02",
                "an age-gated campaign must describe its 21+ age gate (date of "
                "birth entry) in the message flow.",
            )
        )
    lending = any(_LENDING_RE.search(t) for t in (c.description, *c.sample_messages))
    if lending and not c.direct_lending:
        out.append(
            _problem(
                "direct_lending_undeclared",
                "direct_lending",
                "R-R-03",
                "the description or samples speak of loans or lending; set "
                "direct_lending to true (TCR directLending).",
            )
        )
    if c.direct_lending and brand.vertical != "FINANCIAL":
        out.append(
            _problem(
                "direct_lending_vertical",
                "direct_lending",
                "R-R-03",
                f"direct_lending is declared but the brand's vertical is "
                f"{brand.vertical}; only a FINANCIAL brand may register lending "
                "traffic (platform policy; carriers treat lending as high risk, "
                "R-CT-02).",
            )
        )
    return out


def _check_replies(c: CampaignInput, brand: BrandFacts) -> list[Problem]:
    out: list[Problem] = []
    out.extend(_length(c.help_message, "help_message", REPLY_LEN, "R-R-03", "help_message_length"))
    out.extend(
        _length(c.optout_message, "optout_message", REPLY_LEN, "R-R-03", "optout_message_length")
    )
    for reason in content.check_help_reply(c.help_message, _primary(brand)):
        if reason.code is ReasonCode.MISSING_BUSINESS_NAME and _names_brand(
            c.help_message, brand.names
        ):
            continue
        out.append(_problem("help_message_content", "help_message", "R-K-03", reason.message))
    for reason in content.check_opt_out_confirmation(c.optout_message, _primary(brand)):
        if reason.code is ReasonCode.MISSING_BUSINESS_NAME and _names_brand(
            c.optout_message, brand.names
        ):
            continue
        out.append(_problem("optout_message_content", "optout_message", "R-K-04", reason.message))
    return out


def validate_campaign(c: CampaignInput, brand: BrandFacts) -> tuple[Problem, ...]:
    """R-R-03 (TCR campaign fields) with R-CT-01..05, R-K-03/04/08: everything a carrier
    reviewer checks before approving, so a campaign that would be rejected stays a
    ``draft`` here instead of costing a vetting fee and a rejection on record.

    Fatal (422): an unknown use case or sub-use-case. Everything else is a problem
    that keeps the campaign in ``draft``: text bounds (description 40-4096, message
    flow 40-2048, 2-5 distinct samples of 20-1024 characters naming the brand and
    saying how to opt out, HELP and STOP replies of 20-255 characters with the
    brand, a contact and a confirmation), MIXED with 2-5 sub-use-cases and a sample
    for each, public shorteners, undeclared links / phone numbers / age-restricted
    or lending content, and a brand that failed vetting (R-R-06).
    """
    out = _check_use_case(c, brand)
    if any(p.fatal for p in out):
        return tuple(out)
    out.extend(
        _length(c.description, "description", DESCRIPTION_LEN, "R-R-03", "description_length")
    )
    out.extend(
        _length(c.message_flow, "message_flow", MESSAGE_FLOW_LEN, "R-R-03", "message_flow_length")
    )
    out.extend(_check_samples(c, brand))
    out.extend(_check_flags(c, brand))
    out.extend(_check_replies(c, brand))
    if not brand.verified:
        out.append(
            _problem(
                "brand_unverified",
                "brand_id",
                "R-R-06",
                "the brand has unresolved registration problems; fix the brand "
                "before its campaigns can be submitted.",
            )
        )
    return tuple(out)


# --------------------------------------------------------------------------- R-CT-05 map

INFO_TXN: frozenset[Category] = frozenset(
    {
        Category.APPOINTMENT_CONFIRMATION,
        Category.APPOINTMENT_REMINDER,
        Category.SERVICE_NOTIFICATION,
        Category.TRANSACTIONAL,
    }
)

# The standard use cases that carry each category on their own; MIXED and LOW_VOLUME
# carry it when one of their sub-use-cases does (see :func:`campaign_allows`).
CATEGORY_USE_CASES: dict[Category, frozenset[str]] = {
    **{
        c: frozenset({"ACCOUNT_NOTIFICATION", "CUSTOMER_CARE", "DELIVERY_NOTIFICATION"})
        for c in INFO_TXN
    },
    Category.MISSED_CALL_FOLLOWUP: frozenset({"CUSTOMER_CARE"}),
    Category.CONVERSATION: frozenset({"CUSTOMER_CARE"}),
    Category.MARKETING: frozenset({"MARKETING"}),
}


def campaign_allows(category: Category, use_case: str, sub_use_cases: tuple[str, ...] = ()) -> bool:
    """R-CT-05: may a campaign registered as ``use_case`` carry ``category``?

    ``INFO_TXN`` (appointment confirmations and reminders, service notices,
    transactional texts) rides ACCOUNT_NOTIFICATION, CUSTOMER_CARE or
    DELIVERY_NOTIFICATION; missed-call follow-ups and conversation replies ride
    CUSTOMER_CARE; marketing rides MARKETING only. MIXED carries a category when
    one of its sub-use-cases does (so marketing needs a MARKETING sub-use-case).
    LOW_VOLUME (small mixed traffic) does the same when it names sub-use-cases
    and otherwise carries every non-marketing category. A SOLE_PROPRIETOR campaign
    is TCR's single catch-all registration for its one number and carries all.
    Compliance replies ride any campaign.
    """
    if category in COMPLIANCE_REPLIES or use_case == SOLE_PROPRIETOR:
        return True
    direct = CATEGORY_USE_CASES.get(category, frozenset())
    if use_case in direct:
        return True
    if use_case == "MIXED":
        return bool(direct.intersection(sub_use_cases))
    if use_case == "LOW_VOLUME":
        if sub_use_cases:
            return bool(direct.intersection(sub_use_cases))
        return category is not Category.MARKETING
    return False


def use_cases_for(category: Category) -> frozenset[str]:
    """The use cases that carry ``category`` on their own or as a MIXED sub-use-case."""
    if category in COMPLIANCE_REPLIES:
        return USE_CASES
    base = CATEGORY_USE_CASES.get(category, frozenset()) | {SOLE_PROPRIETOR, "MIXED"}
    return base if category is Category.MARKETING else base | {"LOW_VOLUME"}


# --------------------------------------------------------------------------- senders

LONG_CODE = "long_code"
TOLL_FREE = "toll_free"
SHORT_CODE = "short_code"
OTHER = "other"

# R-R-01: "US-bound" includes the US territories on the NANP.
US_BOUND_REGIONS: frozenset[str] = frozenset({"US", "PR", "VI", "GU", "AS", "MP"})


def sender_number_type(number: str) -> str:
    """``long_code`` (a US 10DLC, R-R-01), ``toll_free`` (US/Canada, R-R-05),
    ``short_code`` (3-8 digits, registered separately) or ``other``."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if not number.strip().startswith("+") and 3 <= len(digits) <= 8:
        return SHORT_CODE
    try:
        num = phonenumbers.parse(number, "US")
    except phonenumbers.NumberParseException:
        return OTHER
    if num.country_code != 1 or not phonenumbers.is_valid_number(num):
        return OTHER
    if phonenumbers.number_type(num) == phonenumbers.PhoneNumberType.TOLL_FREE:
        return TOLL_FREE
    region = phonenumbers.region_code_for_number(num)
    return LONG_CODE if region in US_BOUND_REGIONS else OTHER


@dataclass(frozen=True, slots=True)
class SenderCampaign:
    """The sending number and the campaign it is linked to (``campaign_status`` None:
    no campaign). For a toll-free number the linked campaign's status stands for
    its toll-free verification (R-R-05)."""

    number: str
    number_type: str
    campaign_status: str | None
    use_case: str | None
    sub_use_cases: tuple[str, ...] = ()
    embedded_links: bool = False
    embedded_phone: bool = False
    age_gated: bool = False


def sender_reasons(
    sender: SenderCampaign | None,
    category: Category,
    effective_category: Category,
    *,
    registration_required: bool,
) -> tuple[Reason, ...]:
    """R-R-01 / R-R-05 / R-CT-05: may this sender carry this message?

    With ``registration_required`` (a deployment whose carriers enforce 10DLC), a
    US long code whose campaign is not ``approved`` (draft, submitted, rejected,
    suspended, or none linked) is blocked with ``campaign_not_approved`` (R-R-01:
    Twilio 30034 since Sept 2023); so is a toll-free number not verified (R-R-05:
    Twilio 30032 since Jan 2024), and a message with no sending number at all.
    Whenever a campaign is linked, the message's effective category (a reminder
    carrying an offer is marketing, T-13) must be within its use case, else
    ``category_not_in_campaign`` (R-CT-05). Compliance replies pass: carriers
    require the HELP answer and the opt-out confirmation on every registered number.
    """
    if category in COMPLIANCE_REPLIES:
        return ()
    reasons: list[Reason] = []
    if sender is None:
        if registration_required:
            reasons.append(
                Reason(
                    code=ReasonCode.CAMPAIGN_NOT_APPROVED,
                    rule="R-R-01",
                    message="The tenant has no sending number linked to an approved campaign.",
                    fix="Register a brand and campaign (POST /v1/brands, /v1/campaigns) and link a "
                    "number to it once approved.",
                )
            )
        return tuple(reasons)
    registered = sender.number_type in (LONG_CODE, TOLL_FREE)
    if registration_required and registered and sender.campaign_status != APPROVED:
        toll_free = sender.number_type == TOLL_FREE
        state = (
            f"its campaign is {sender.campaign_status}"
            if sender.campaign_status
            else "it is linked to no campaign"
        )
        what = (
            "toll-free number must be verified"
            if toll_free
            else "US long code (10DLC) sends only under an approved campaign"
        )
        reasons.append(
            Reason(
                code=ReasonCode.CAMPAIGN_NOT_APPROVED,
                rule="R-R-05" if toll_free else "R-R-01",
                message=f"The sender ending {sender.number[-4:]} cannot send: a {what}, and "
                f"{state}.",
                fix="Submit the campaign and wait for approval, or link the number to an approved "
                "campaign (POST /v1/numbers with campaign_id).",
            )
        )
    if sender.use_case is not None and not campaign_allows(
        effective_category, sender.use_case, sender.sub_use_cases
    ):
        registered_as = sender.use_case
        if sender.sub_use_cases:
            registered_as += f" ({', '.join(sender.sub_use_cases)})"
        why = ""
        if effective_category is not category:
            why = f" The {category.value} text is promotional, so it is {effective_category.value}."
        allowed = ", ".join(sorted(use_cases_for(effective_category) - {SOLE_PROPRIETOR}))
        reasons.append(
            Reason(
                code=ReasonCode.CATEGORY_NOT_IN_CAMPAIGN,
                rule="R-CT-05",
                message=f"The sender's campaign is registered as {registered_as}, which does not "
                f"carry {effective_category.value} messages.{why}",
                fix=f"Send it from a number whose campaign is one of: {allowed}; or remove the "
                "content that changes its category.",
            )
        )
    return tuple(reasons)


def choose_sender(
    senders: Sequence[SenderCampaign],
    category: Category,
    *,
    registration_required: bool,
) -> SenderCampaign | None:
    """R-R-01 / R-R-05 / R-CT-05: the number a message goes out from when the caller names
    none, from the tenant's numbers in the order they were registered.

    The first that may carry ``category`` (:func:`sender_reasons` finds nothing: with
    registration enforced, a number under an approved campaign whose use case carries
    it; without, also a number linked to no campaign). Failing that, the first whose
    campaign is approved, so the refusal is the true one (the use case, R-CT-05) and
    not an approval the tenant already has; else the first number. None: no numbers.
    """
    for sender in senders:
        if not sender_reasons(
            sender, category, category, registration_required=registration_required
        ):
            return sender
    approved = (s for s in senders if s.campaign_status == APPROVED)
    return next(approved, senders[0] if senders else None)


def campaign_content_flags(
    sender: SenderCampaign | None,
) -> tuple[bool | None, bool | None, bool | None]:
    """``(embedded_links, embedded_phone, age_gated)`` for the content screen
    (R-CT-02/03/04); ``None`` each when the sender has no campaign to check against."""
    if sender is None or sender.use_case is None:
        return None, None, None
    return sender.embedded_links, sender.embedded_phone, sender.age_gated


def policy_reasons(accepted: bool, category: Category) -> tuple[Reason, ...]:
    """R-B-03 / mission §7-8: a business sends only after accepting the current SMS
    Messaging Policy, its attestation of lawful content and consent; compliance
    replies still go out (carriers require them)."""
    if accepted or category in COMPLIANCE_REPLIES:
        return ()
    return (
        Reason(
            code=ReasonCode.POLICY_NOT_ACCEPTED,
            rule="R-B-03",
            message="The business has not accepted the current SMS Messaging Policy.",
            fix="Read GET /v1/policy and accept it with POST /v1/policy/accept.",
        ),
    )
