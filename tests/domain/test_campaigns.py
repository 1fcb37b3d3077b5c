"""10DLC registration validation (R-R-02, R-R-03), the R-CT-05 category map, and the
sender rule (R-R-01, R-R-05, R-CT-05)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from frontdesk.domain.campaigns import (
    ENTITY_TYPES,
    SUB_USE_CASES,
    USE_CASES,
    VERTICALS,
    BrandFacts,
    BrandInput,
    CampaignInput,
    SenderCampaign,
    campaign_allows,
    campaign_content_flags,
    choose_sender,
    policy_reasons,
    sender_number_type,
    sender_reasons,
    validate_brand,
    validate_campaign,
)
from frontdesk.domain.messages import Category

BRAND = BrandInput(
    legal_name="Bright Smile Dental LLC",
    ein="12-3456789",
    entity_type="PRIVATE_PROFIT",
    vertical="HEALTHCARE",
    website="https://www.brightsmile.example",
    email="hello@brightsmile.example",
    phone="(415) 555-0199",
)
FACTS = BrandFacts(
    names=("Bright Smile Dental", "Bright Smile Dental LLC"),
    entity_type="PRIVATE_PROFIT",
    vertical="HEALTHCARE",
)
REMINDER = (
    "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply C to confirm. "
    "Reply STOP to opt out."
)
MISSED = "Bright Smile Dental: sorry we missed your call! How can we help? Reply STOP to opt out."
CAMPAIGN = CampaignInput(
    use_case="MIXED",
    sub_use_cases=("CUSTOMER_CARE", "ACCOUNT_NOTIFICATION"),
    description=(
        "Bright Smile Dental texts its patients appointment confirmations, reminders and "
        "follow-ups to missed calls."
    ),
    message_flow=(
        "Patients opt in on the booking form at https://brightsmile.example/book by ticking an "
        "unticked SMS consent box, or by texting JOIN to our number."
    ),
    sample_messages=(REMINDER, MISSED),
    help_message=(
        "Bright Smile Dental: call (415) 555-0199 or email hello@brightsmile.example. "
        "Reply STOP to opt out."
    ),
    optout_message="Bright Smile Dental: you are unsubscribed and will not receive more texts.",
)


def _kw(field: str, value: Any) -> dict[str, Any]:
    return {field: value}


def codes(problems: tuple[object, ...]) -> set[str]:
    return {p.code for p in problems}  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- R-R-02 brands


def test_R_R_02_a_complete_brand_has_no_problems() -> None:
    assert validate_brand(BRAND) == ()


@pytest.mark.parametrize("entity_type", sorted(ENTITY_TYPES - {"SOLE_PROPRIETOR"}))
def test_R_R_02_every_tcr_entity_type_is_accepted(entity_type: str) -> None:
    assert validate_brand(replace(BRAND, entity_type=entity_type)) == ()


@pytest.mark.parametrize("vertical", ["HEALTHCARE", "PROFESSIONAL", "REAL_ESTATE", "RETAIL"])
def test_R_R_02_tcr_verticals_are_accepted(vertical: str) -> None:
    assert vertical in VERTICALS
    assert validate_brand(replace(BRAND, vertical=vertical)) == ()


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("entity_type", "LLC", "invalid_entity_type"),
        ("vertical", "DENTAL", "invalid_vertical"),
        ("legal_name", "  ", "legal_name_missing"),
        ("ein", None, "ein_required"),
        ("ein", "12-345678", "ein_invalid_format"),
        ("ein", "1234-56789", "ein_invalid_format"),
        ("website", "not a site", "invalid_website"),
        ("website", "ftp://brightsmile.example", "invalid_website"),
        ("email", "hello-at-brightsmile", "invalid_email"),
        ("phone", "555", "invalid_phone"),
    ],
)
def test_R_R_02_malformed_brand_fields_are_fatal(field: str, value: str | None, code: str) -> None:
    problems = validate_brand(replace(BRAND, **_kw(field, value)))
    assert [(p.code, p.field, p.rule, p.fatal) for p in problems] == [(code, field, "R-R-02", True)]
    assert "R-R-02" in problems[0].message


def test_R_R_02_ein_of_nine_bare_digits_is_accepted() -> None:
    assert validate_brand(replace(BRAND, ein="123456789")) == ()


def test_R_R_02_an_ein_prefix_never_issued_leaves_the_brand_unverified_not_refused() -> None:
    (problem,) = validate_brand(replace(BRAND, ein="00-3456789"))
    assert problem.code == "ein_invalid_prefix" and not problem.fatal


def test_R_R_02_sole_proprietors_register_without_an_ein() -> None:
    sole = replace(BRAND, entity_type="SOLE_PROPRIETOR", ein=None)
    assert validate_brand(sole) == ()
    (problem,) = validate_brand(replace(sole, ein="12-3456789"))
    assert problem.code == "ein_not_for_sole_proprietor" and problem.fatal


@pytest.mark.parametrize("mailbox", ["owner@gmail.com", "owner@Yahoo.com", "o@outlook.com"])
def test_R_R_02_free_mail_business_email_is_rejected(mailbox: str) -> None:
    (problem,) = validate_brand(replace(BRAND, email=mailbox))
    assert problem.code == "free_mail_domain" and problem.field == "email"


def test_R_R_02_a_sole_proprietor_may_use_a_personal_mailbox() -> None:
    sole = replace(BRAND, entity_type="SOLE_PROPRIETOR", ein=None, email="owner@gmail.com")
    assert validate_brand(sole) == ()


def test_R_R_02_email_domain_must_be_the_website_domain() -> None:
    (problem,) = validate_brand(replace(BRAND, email="hello@othersmile.example"))
    assert problem.code == "email_domain_mismatch"
    assert validate_brand(replace(BRAND, email="ops@mail.brightsmile.example")) == ()


def test_R_CT_03_a_shortener_is_not_a_brand_website() -> None:
    problems = validate_brand(replace(BRAND, website="https://bit.ly/brightsmile"))
    assert "website_shortener" in codes(problems)


# --------------------------------------------------------------------------- R-R-03 campaigns


def test_R_R_03_a_complete_mixed_campaign_has_no_problems() -> None:
    assert validate_campaign(CAMPAIGN, FACTS) == ()


@pytest.mark.parametrize("use_case", sorted(USE_CASES - {"MIXED", "SOLE_PROPRIETOR"}))
def test_R_R_03_every_tcr_use_case_is_known(use_case: str) -> None:
    problems = validate_campaign(replace(CAMPAIGN, use_case=use_case, sub_use_cases=()), FACTS)
    assert problems == ()


def test_R_R_03_an_unknown_use_case_is_fatal() -> None:
    (problem,) = validate_campaign(replace(CAMPAIGN, use_case="APPOINTMENTS"), FACTS)
    assert (problem.code, problem.field, problem.fatal) == ("invalid_use_case", "use_case", True)


@pytest.mark.parametrize(
    ("subs", "code"),
    [
        (("CUSTOMER_CARE",), "sub_use_case_count"),
        (
            (
                "CUSTOMER_CARE",
                "MARKETING",
                "2FA",
                "FRAUD_ALERT",
                "SECURITY_ALERT",
                "POLLING_VOTING",
            ),
            "sub_use_case_count",
        ),
        (("CUSTOMER_CARE", "CUSTOMER_CARE"), "duplicate_sub_use_case"),
    ],
)
def test_R_R_03_mixed_combines_two_to_five_distinct_sub_use_cases(
    subs: tuple[str, ...], code: str
) -> None:
    assert code in codes(validate_campaign(replace(CAMPAIGN, sub_use_cases=subs), FACTS))


def test_R_R_03_sub_use_cases_are_standard_use_cases_only() -> None:
    for bad in ("MIXED", "LOW_VOLUME", "CHARITY"):
        assert bad not in SUB_USE_CASES
        problems = validate_campaign(replace(CAMPAIGN, sub_use_cases=("CUSTOMER_CARE", bad)), FACTS)
        assert [p.code for p in problems] == ["invalid_sub_use_case"] and problems[0].fatal


def test_R_R_03_only_mixed_and_low_volume_take_sub_use_cases() -> None:
    problems = validate_campaign(replace(CAMPAIGN, use_case="CUSTOMER_CARE"), FACTS)
    assert codes(problems) == {"sub_use_cases_not_allowed"}


def test_R_CT_05_mixed_needs_a_sample_per_sub_use_case() -> None:
    three = ("CUSTOMER_CARE", "ACCOUNT_NOTIFICATION", "DELIVERY_NOTIFICATION")
    problems = validate_campaign(replace(CAMPAIGN, sub_use_cases=three), FACTS)
    assert codes(problems) == {"samples_per_sub_use_case"}


@pytest.mark.parametrize(
    ("field", "low", "high"), [("description", 40, 4096), ("message_flow", 40, 2048)]
)
def test_R_R_03_description_and_message_flow_bounds(field: str, low: int, high: int) -> None:
    base = "Bright Smile Dental texts patients. "

    def sized(n: int) -> str:
        return (base * (n // len(base) + 1))[:n]

    assert validate_campaign(replace(CAMPAIGN, **_kw(field, sized(low))), FACTS) == ()
    assert validate_campaign(replace(CAMPAIGN, **_kw(field, sized(high))), FACTS) == ()
    for n in (low - 1, high + 1):
        (problem,) = validate_campaign(replace(CAMPAIGN, **_kw(field, sized(n))), FACTS)
        assert problem.code == f"{field}_length" and problem.field == field
        assert str(low) in problem.message and "R-R-03" in problem.message


@pytest.mark.parametrize(("count", "ok"), [(1, False), (2, True), (5, True), (6, False)])
def test_R_R_03_two_to_five_samples(count: int, ok: bool) -> None:
    samples = tuple(
        f"Bright Smile Dental: reminder number {i}. Reply STOP to opt out." for i in range(count)
    )
    problems = validate_campaign(
        replace(CAMPAIGN, use_case="LOW_VOLUME", sub_use_cases=(), sample_messages=samples), FACTS
    )
    assert ("sample_count" in codes(problems)) is not ok


@pytest.mark.parametrize(("length", "ok"), [(19, False), (20, True), (1024, True), (1025, False)])
def test_R_R_03_each_sample_is_20_to_1024_characters(length: int, ok: bool) -> None:
    head, tail = "Bright Smile: ", " Reply STOP to opt out."
    sample = (
        head + "x" * (length - len(head) - len(tail)) + tail
        if length > 40
        else ("Bright Smile: STOP ok"[:length])
    )
    assert len(sample) == length
    problems = validate_campaign(replace(CAMPAIGN, sample_messages=(REMINDER, sample)), FACTS)
    too = [p for p in problems if p.code == "sample_length"]
    assert (too == []) is ok
    if not ok:
        assert too[0].field == "sample_messages.1" and "20-1024" in too[0].message


def test_R_R_03_samples_are_distinct() -> None:
    problems = validate_campaign(replace(CAMPAIGN, sample_messages=(REMINDER, REMINDER)), FACTS)
    assert "sample_duplicate" in codes(problems)


def test_R_CT_01_every_sample_names_the_brand() -> None:
    anonymous = "Your cleaning is Tue at 3:00 pm. Reply C to confirm. Reply STOP to opt out."
    problems = validate_campaign(replace(CAMPAIGN, sample_messages=(REMINDER, anonymous)), FACTS)
    assert [(p.code, p.field, p.rule) for p in problems] == [
        ("sample_missing_brand", "sample_messages.1", "R-CT-01")
    ]


def test_R_K_08_every_sample_says_how_to_opt_out() -> None:
    silent = "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply C to confirm."
    problems = validate_campaign(replace(CAMPAIGN, sample_messages=(silent, MISSED)), FACTS)
    assert [(p.code, p.field) for p in problems] == [
        ("sample_missing_opt_out", "sample_messages.0")
    ]


@pytest.mark.parametrize("link", ["https://bit.ly/3xYz", "BIT.LY/3xYz", "tinyurl.com/abc"])
def test_R_CT_03_public_shorteners_in_samples_are_rejected(link: str) -> None:
    sample = f"Bright Smile Dental: book at {link} Reply STOP to opt out."
    problems = validate_campaign(
        replace(CAMPAIGN, sample_messages=(REMINDER, sample), embedded_links=True), FACTS
    )
    assert codes(problems) == {"sample_public_shortener"}


def test_R_CT_03_links_in_samples_need_embedded_links() -> None:
    sample = "Bright Smile Dental: book at https://brightsmile.example/book Reply STOP to opt out."
    with_link = replace(CAMPAIGN, sample_messages=(REMINDER, sample))
    assert codes(validate_campaign(with_link, FACTS)) == {"embedded_links_undeclared"}
    assert validate_campaign(replace(with_link, embedded_links=True), FACTS) == ()


def test_R_CT_04_phone_numbers_in_samples_need_embedded_phone() -> None:
    sample = "Bright Smile Dental: questions? Call (415) 555-0199. Reply STOP to opt out."
    with_phone = replace(CAMPAIGN, sample_messages=(REMINDER, sample))
    assert codes(validate_campaign(with_phone, FACTS)) == {"embedded_phone_undeclared"}
    assert validate_campaign(replace(with_phone, embedded_phone=True), FACTS) == ()


def test_R_CT_02_age_restricted_samples_need_an_age_gated_campaign_with_a_described_gate() -> None:
    wine = "Bright Smile Dental: join our wine tasting night on Friday! Reply STOP to opt out."
    bar = replace(CAMPAIGN, sample_messages=(REMINDER, wine))
    problems = validate_campaign(bar, FACTS)
    assert codes(problems) == {"age_gate_undeclared"}
    assert next(iter(problems)).field == "age_gated"
    gated = replace(bar, age_gated=True)
    assert codes(validate_campaign(gated, FACTS)) == {"age_gate_flow_missing"}
    flow = gated.message_flow + " Subscribers confirm they are 21+ by entering a date of birth."
    assert validate_campaign(replace(gated, message_flow=flow), FACTS) == ()


def test_R_CT_02_disallowed_content_in_samples_is_a_problem() -> None:
    sample = "Bright Smile Dental: CBD gummies now in stock! Reply STOP to opt out."
    problems = validate_campaign(replace(CAMPAIGN, sample_messages=(REMINDER, sample)), FACTS)
    assert codes(problems) == {"sample_prohibited_content"}


def test_R_R_03_lending_traffic_declares_direct_lending_and_needs_a_financial_brand() -> None:
    lending = replace(CAMPAIGN, description=CAMPAIGN.description + " We also offer loans.")
    assert codes(validate_campaign(lending, FACTS)) == {"direct_lending_undeclared"}
    declared = replace(lending, direct_lending=True)
    assert codes(validate_campaign(declared, FACTS)) == {"direct_lending_vertical"}
    financial = replace(FACTS, vertical="FINANCIAL")
    assert validate_campaign(declared, financial) == ()


@pytest.mark.parametrize("field", ["help_message", "optout_message"])
@pytest.mark.parametrize(("length", "ok"), [(19, False), (20, True), (255, True), (256, False)])
def test_R_R_03_help_and_optout_messages_are_20_to_255_characters(
    field: str, length: int, ok: bool
) -> None:
    text = (getattr(CAMPAIGN, field) + " " + "x" * 255)[:length]
    problems = validate_campaign(replace(CAMPAIGN, **_kw(field, text)), FACTS)
    assert (f"{field}_length" not in codes(problems)) is ok


def test_R_K_03_help_message_names_the_brand_and_gives_a_contact() -> None:
    vague = "Need help? We are happy to assist you any time. Reply STOP to opt out."
    problems = validate_campaign(replace(CAMPAIGN, help_message=vague), FACTS)
    assert codes(problems) == {"help_message_content"}
    assert len(problems) == 2 and all(p.rule == "R-K-03" for p in problems)


def test_R_K_04_optout_message_names_the_brand_and_confirms() -> None:
    vague = "Bright Smile Dental: thanks for your message, we got it."
    (problem,) = validate_campaign(replace(CAMPAIGN, optout_message=vague), FACTS)
    assert (problem.code, problem.rule) == ("optout_message_content", "R-K-04")


def test_R_R_02_sole_proprietor_brands_use_the_sole_proprietor_use_case_only() -> None:
    sole = replace(FACTS, entity_type="SOLE_PROPRIETOR")
    assert codes(validate_campaign(CAMPAIGN, sole)) == {"sole_proprietor_use_case"}
    sp_campaign = replace(CAMPAIGN, use_case="SOLE_PROPRIETOR", sub_use_cases=())
    assert validate_campaign(sp_campaign, sole) == ()
    assert codes(validate_campaign(sp_campaign, FACTS)) == {"sole_proprietor_use_case"}


def test_R_R_06_a_brand_that_failed_vetting_keeps_its_campaigns_in_draft() -> None:
    problems = validate_campaign(CAMPAIGN, replace(FACTS, verified=False))
    assert codes(problems) == {"brand_unverified"}


def test_samples_may_name_the_brand_by_its_dba_or_its_legal_name() -> None:
    legal = "Bright Smile Dental LLC: your visit is confirmed. Reply STOP to opt out."
    dba_only = BrandFacts(
        names=("Smile Co", "Bright Smile Dental LLC"),
        entity_type="PRIVATE_PROFIT",
        vertical="HEALTHCARE",
    )
    problems = validate_campaign(replace(CAMPAIGN, sample_messages=(legal, MISSED)), dba_only)
    assert "sample_missing_brand" not in codes(problems)


# --------------------------------------------------------------------------- R-CT-05 map

INFO = [
    Category.APPOINTMENT_CONFIRMATION,
    Category.APPOINTMENT_REMINDER,
    Category.SERVICE_NOTIFICATION,
    Category.TRANSACTIONAL,
]


@pytest.mark.parametrize("category", INFO)
def test_R_CT_05_info_txn_rides_notification_care_mixed_and_low_volume(category: Category) -> None:
    for use_case in (
        "ACCOUNT_NOTIFICATION",
        "CUSTOMER_CARE",
        "DELIVERY_NOTIFICATION",
        "LOW_VOLUME",
    ):
        assert campaign_allows(category, use_case)
    assert campaign_allows(category, "MIXED", ("CUSTOMER_CARE", "MARKETING"))
    assert not campaign_allows(category, "MIXED", ("MARKETING", "POLLING_VOTING"))
    for use_case in ("MARKETING", "2FA", "POLLING_VOTING", "FRAUD_ALERT"):
        assert not campaign_allows(category, use_case)


def test_R_CT_05_marketing_rides_marketing_or_mixed_with_a_marketing_sub_use_case() -> None:
    m = Category.MARKETING
    assert campaign_allows(m, "MARKETING")
    assert campaign_allows(m, "MIXED", ("CUSTOMER_CARE", "MARKETING"))
    assert not campaign_allows(m, "MIXED", ("CUSTOMER_CARE", "ACCOUNT_NOTIFICATION"))
    assert not campaign_allows(m, "LOW_VOLUME")
    assert campaign_allows(m, "LOW_VOLUME", ("CUSTOMER_CARE", "MARKETING"))
    for use_case in ("CUSTOMER_CARE", "ACCOUNT_NOTIFICATION", "DELIVERY_NOTIFICATION"):
        assert not campaign_allows(m, use_case)


@pytest.mark.parametrize("category", [Category.MISSED_CALL_FOLLOWUP, Category.CONVERSATION])
def test_R_CT_05_missed_calls_and_conversations_ride_customer_care(category: Category) -> None:
    assert campaign_allows(category, "CUSTOMER_CARE")
    assert campaign_allows(category, "LOW_VOLUME")
    assert campaign_allows(category, "MIXED", ("CUSTOMER_CARE", "ACCOUNT_NOTIFICATION"))
    assert not campaign_allows(category, "MIXED", ("ACCOUNT_NOTIFICATION", "MARKETING"))
    assert not campaign_allows(category, "ACCOUNT_NOTIFICATION")
    assert not campaign_allows(category, "MARKETING")


def test_R_CT_05_compliance_replies_and_sole_proprietor_campaigns_carry_everything() -> None:
    for category in (
        Category.HELP_REPLY,
        Category.OPT_OUT_CONFIRMATION,
        Category.OPT_IN_CONFIRMATION,
    ):
        assert campaign_allows(category, "2FA")
    for category in Category:
        assert campaign_allows(category, "SOLE_PROPRIETOR")


# --------------------------------------------------------------------------- sender_reasons

LONG = "+14155550100"
TOLL_FREE = "+18005550100"


def sender(
    status: str | None = "approved",
    use_case: str | None = "MIXED",
    subs: tuple[str, ...] = ("CUSTOMER_CARE", "ACCOUNT_NOTIFICATION"),
    number: str = LONG,
) -> SenderCampaign:
    return SenderCampaign(
        number=number,
        number_type=sender_number_type(number),
        campaign_status=status,
        use_case=use_case,
        sub_use_cases=subs,
    )


def reason_codes(
    s: SenderCampaign | None,
    category: Category,
    effective: Category | None = None,
    required: bool = True,
) -> list[str]:
    found = sender_reasons(s, category, effective or category, registration_required=required)
    return [r.code.value for r in found]


def test_sender_number_types() -> None:
    assert sender_number_type(LONG) == "long_code"
    assert sender_number_type("+17875550100") == "long_code"  # Puerto Rico is US-bound
    assert sender_number_type(TOLL_FREE) == "toll_free"
    assert sender_number_type("+442071234567") == "other"
    assert sender_number_type("+16135550100") == "other"  # a Canadian long code
    assert sender_number_type("12345") == "short_code"


def test_R_R_01_an_approved_campaign_sends() -> None:
    assert reason_codes(sender(), Category.APPOINTMENT_REMINDER) == []


@pytest.mark.parametrize("status", ["draft", "submitted", "rejected", "suspended", None])
def test_R_R_01_a_long_code_without_an_approved_campaign_is_blocked(status: str | None) -> None:
    s = sender(status=status, use_case=None if status is None else "MIXED")
    found = sender_reasons(
        s, Category.APPOINTMENT_REMINDER, Category.APPOINTMENT_REMINDER, registration_required=True
    )
    assert [(r.code.value, r.rule) for r in found] == [("campaign_not_approved", "R-R-01")]
    assert LONG not in found[0].message and "0100" in found[0].message


def test_R_R_01_no_sending_number_at_all_is_blocked_when_registration_is_required() -> None:
    assert reason_codes(None, Category.APPOINTMENT_REMINDER) == ["campaign_not_approved"]
    assert reason_codes(None, Category.APPOINTMENT_REMINDER, required=False) == []


def test_R_R_01_deployments_without_10dlc_enforcement_do_not_require_approval() -> None:
    assert reason_codes(sender(status="draft"), Category.APPOINTMENT_REMINDER, required=False) == []


def test_R_R_05_an_unverified_toll_free_number_is_blocked() -> None:
    s = sender(status="submitted", number=TOLL_FREE)
    found = sender_reasons(
        s, Category.TRANSACTIONAL, Category.TRANSACTIONAL, registration_required=True
    )
    assert [(r.code.value, r.rule) for r in found] == [("campaign_not_approved", "R-R-05")]
    assert reason_codes(sender(number=TOLL_FREE), Category.TRANSACTIONAL) == []


def test_R_R_01_non_us_senders_need_no_10dlc_campaign() -> None:
    s = sender(status=None, use_case=None, number="+442071234567")
    assert reason_codes(s, Category.APPOINTMENT_REMINDER) == []


def test_R_CT_05_marketing_over_an_informational_campaign_is_blocked() -> None:
    found = sender_reasons(
        sender(), Category.MARKETING, Category.MARKETING, registration_required=True
    )
    assert [(r.code.value, r.rule) for r in found] == [("category_not_in_campaign", "R-CT-05")]
    assert "MARKETING" in found[0].fix


def test_R_CT_05_T_13_a_reminder_with_an_offer_is_judged_as_marketing() -> None:
    found = sender_reasons(
        sender(), Category.APPOINTMENT_REMINDER, Category.MARKETING, registration_required=True
    )
    assert [r.code.value for r in found] == ["category_not_in_campaign"]
    assert "promotional" in found[0].message
    with_marketing = sender(subs=("CUSTOMER_CARE", "MARKETING"))
    assert reason_codes(with_marketing, Category.APPOINTMENT_REMINDER, Category.MARKETING) == []


def test_R_CT_05_applies_even_where_registration_is_not_enforced() -> None:
    s = sender(use_case="MARKETING", subs=())
    assert reason_codes(s, Category.MISSED_CALL_FOLLOWUP, required=False) == [
        "category_not_in_campaign"
    ]


def test_both_reasons_together() -> None:
    s = sender(status="rejected", use_case="ACCOUNT_NOTIFICATION", subs=())
    assert reason_codes(s, Category.MARKETING) == [
        "campaign_not_approved",
        "category_not_in_campaign",
    ]


@pytest.mark.parametrize(
    "category", [Category.HELP_REPLY, Category.OPT_OUT_CONFIRMATION, Category.OPT_IN_CONFIRMATION]
)
def test_compliance_replies_are_never_blocked_by_registration(category: Category) -> None:
    assert reason_codes(None, category) == []
    assert reason_codes(sender(status="suspended", use_case="MARKETING", subs=()), category) == []


def test_content_flags_come_from_the_senders_campaign() -> None:
    s = replace(sender(), embedded_links=True, embedded_phone=False, age_gated=True)
    assert campaign_content_flags(s) == (True, False, True)
    assert campaign_content_flags(sender(status=None, use_case=None)) == (None, None, None)
    assert campaign_content_flags(None) == (None, None, None)


# --------------------------------------------------------------------------- choose_sender

CARE = "+14155550101"
PROMO = "+14155550102"


def chosen(senders: list[SenderCampaign], category: Category, required: bool = True) -> str | None:
    found = choose_sender(senders, category, registration_required=required)
    return found.number if found is not None else None


def test_R_R_01_the_sender_chosen_has_an_approved_campaign_that_carries_the_category() -> None:
    pending = sender(status="submitted")
    care = sender(use_case="CUSTOMER_CARE", subs=(), number=CARE)
    promo = sender(use_case="MARKETING", subs=(), number=PROMO)
    numbers = [pending, care, promo]
    assert chosen(numbers, Category.APPOINTMENT_REMINDER) == CARE
    assert chosen(numbers, Category.MISSED_CALL_FOLLOWUP) == CARE
    assert chosen(numbers, Category.MARKETING) == PROMO


def test_R_R_01_registration_order_breaks_ties() -> None:
    first, second = sender(), sender(number=CARE)
    assert chosen([first, second], Category.CONVERSATION) == LONG
    assert chosen([second, first], Category.CONVERSATION) == CARE


def test_R_CT_05_with_no_number_carrying_the_category_an_approved_one_is_chosen() -> None:
    """Its refusal is then the use case (R-CT-05), not an approval the tenant already has."""
    pending = sender(status="submitted", use_case="MARKETING", subs=())
    notices = sender(use_case="ACCOUNT_NOTIFICATION", subs=(), number=CARE)
    assert chosen([pending, notices], Category.MARKETING) == CARE
    assert reason_codes(notices, Category.MARKETING) == ["category_not_in_campaign"]


def test_R_R_01_with_no_approved_campaign_at_all_the_first_number_is_chosen() -> None:
    numbers = [sender(status="submitted"), sender(status=None, use_case=None, number=CARE)]
    assert chosen(numbers, Category.APPOINTMENT_REMINDER) == LONG
    assert chosen([], Category.APPOINTMENT_REMINDER) is None


def test_without_enforcement_an_unlinked_number_carries_anything_a_campaign_still_binds() -> None:
    notices = sender(use_case="ACCOUNT_NOTIFICATION", subs=())
    unlinked = sender(status=None, use_case=None, number=CARE)
    assert chosen([notices, unlinked], Category.APPOINTMENT_REMINDER, required=False) == LONG
    assert chosen([notices, unlinked], Category.MARKETING, required=False) == CARE


def test_R_B_03_the_policy_must_be_accepted_before_sending() -> None:
    assert [r.code.value for r in policy_reasons(False, Category.APPOINTMENT_REMINDER)] == [
        "policy_not_accepted"
    ]
    assert policy_reasons(True, Category.MARKETING) == ()
    assert policy_reasons(False, Category.OPT_OUT_CONFIRMATION) == ()
