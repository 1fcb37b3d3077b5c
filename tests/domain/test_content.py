"""The outbound content screen, rule by rule (R-CT-01..05, R-C-02, R-C-06, R-K-03..05,
R-K-08, R-FCC-03, traps T-13, T-18, T-21, T-24, receptionist.md §1.6 and §2.3)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.domain import content
from frontdesk.domain.content import (
    PUBLIC_SHORTENERS,
    ContentContext,
    ContentFindings,
    find_urls,
    has_opt_out_language,
    is_public_shortener,
    names_business,
    promotional_terms,
    screen,
    screen_compliance_reply,
)
from frontdesk.domain.messages import Category
from frontdesk.domain.reasons import ReasonCode, Severity

C = Category
DENTIST = "Bright Smile Dental"
SALON = "Luxe Hair Studio"
PLUMBER = "Joe's Plumbing & Heating"
OWN_NUMBER = "+14155552671"

BUSINESS_BY_PREFIX = {"Bright": DENTIST, "Luxe": SALON, "Joe": PLUMBER, "JOE": PLUMBER}


def ctx_for(
    body: str, category: Category, first: bool = False, **overrides: Any
) -> ContentContext:
    business = next((b for p, b in BUSINESS_BY_PREFIX.items() if body.startswith(p)), DENTIST)
    base = ContentContext(
        business_name=business,
        category=category,
        first_message_to_contact=first,
        campaign_embedded_links=True,
        campaign_embedded_phone=True,
        campaign_age_gated=False,
        tenant_numbers=frozenset({OWN_NUMBER}),
        allowed_link_domains=frozenset(
            {"brightsmile.example", "luxehair.example", "joesplumbing.example"}
        ),
    )
    return replace(base, **overrides)


def codes(findings: ContentFindings, blocking_only: bool = True) -> set[ReasonCode]:
    reasons = findings.blocking if blocking_only else findings.reasons
    return {r.code for r in reasons}


# --------------------------------------------------------------------------- false-positive guard

CLEAN: list[tuple[Category, bool, str]] = [
    # dentist
    (C.APPOINTMENT_REMINDER, False, "Bright Smile Dental: reminder of your visit Tue Mar 3 at "
     "3:00 pm. Reply C to confirm or R to reschedule. Reply STOP to opt out."),
    (C.APPOINTMENT_CONFIRMATION, False, "Bright Smile Dental: you're booked for Thu Mar 5 at "
     "4:30 pm. See you then!"),
    (C.APPOINTMENT_REMINDER, False, "Bright Smile Dental: your cleaning is tomorrow at 9:00 am. "
     "Please arrive 10 minutes early to update your paperwork."),
    (C.SERVICE_NOTIFICATION, False, "Bright Smile Dental: after your extraction, avoid alcohol, "
     "smoking and vaping for 72 hours and don't use a straw."),
    (C.SERVICE_NOTIFICATION, False, "Bright Smile Dental: we are closed Monday for the holiday. "
     "For emergencies call (415) 555-2671."),
    (C.CONVERSATION, False, "Yes, we accept Delta Dental PPO. Would you like to book a visit? "
     "Reply 1 for this week, 2 for next week."),
    (C.CONVERSATION, False, "We open at 8:00 am tomorrow (Mon-Fri 8-5). Reply here and the team "
     "will get back to you after 8."),
    (C.TRANSACTIONAL, False, "Bright Smile Dental: we received your payment of $120.00. Your "
     "remaining balance is $0. Thank you!"),
    (C.APPOINTMENT_REMINDER, False, "Bright Smile Dental: Dr. Patel will see you Wed at 2:15 pm. "
     "Parking is free in the lot behind the building."),
    (C.MISSED_CALL_FOLLOWUP, True, "Bright Smile Dental: sorry we missed your call! How can we "
     "help? You can also book at brightsmile.example/book. Reply STOP to opt out."),
    (C.CONVERSATION, False, "Your potential treatment plan is ready; Dr. Patel will go over it "
     "at your next visit."),
    (C.SERVICE_NOTIFICATION, False, "Bright Smile Dental: whatever questions you have about your "
     "crown, reply here or call 415-555-2671."),
    (C.APPOINTMENT_CONFIRMATION, False, "Bright Smile Dental: your appointment on 3/14 at "
     "10:30 am is confirmed. Reply R to reschedule."),
    (C.TRANSACTIONAL, False, "Bright Smile Dental: your insurance claim #48213 was submitted to "
     "Aetna on 03/02/2026."),
    (C.SERVICE_NOTIFICATION, False, "Bright Smile Dental: your night guard is ready for pickup. "
     "See https://brightsmile.example/hours for our hours."),
    (C.SERVICE_NOTIFICATION, False, "Bright Smile Dental: please rinse with an alcohol-free "
     "mouthwash twice a day this week."),
    (C.CONVERSATION, False, "Sure, email us at frontdesk@brightsmile.example and we'll send the "
     "X-rays to your new dentist."),
    (C.APPOINTMENT_REMINDER, True, "Bright Smile Dental: hi Sam, this is a reminder of your visit "
     "Mon at 9 am. Reply STOP to opt out."),
    (C.APPOINTMENT_REMINDER, False, "Bright Smile Dental: reminder of Ava's visit Tue at 4 pm. "
     "Reply STOP to opt out, HELP for help."),
    (C.CONVERSATION, False, "Our office is at 420 Main St, suite 2, next to the pharmacy."),
    (C.MARKETING, False, "Bright Smile Dental: new patient special - free exam and X-rays in "
     "April. Call 415-555-2671. Reply STOP to opt out."),
    # salon
    (C.APPOINTMENT_REMINDER, False, "Luxe Hair Studio: reminder, your color appointment with Maya "
     "is Sat at 11 am. Reply C to confirm or R to reschedule."),
    (C.APPOINTMENT_CONFIRMATION, False, "Luxe Hair Studio: you're booked for a wine-colored gloss "
     "and trim on Fri 4/10 at 5 pm."),
    (C.SERVICE_NOTIFICATION, False, "Luxe Hair Studio: your champagne blonde toner is back in "
     "stock; we'll use it at your next visit."),
    (C.CONVERSATION, False, "We can fit you in Thursday at 3 or Friday at 10. Which works better?"),
    (C.CONVERSATION, False, "Nude and blush polish colors are both available for your manicure."),
    (C.APPOINTMENT_REMINDER, False, "Luxe Hair Studio: see you tomorrow at 2 pm! Please come with "
     "dry, product-free hair."),
    (C.TRANSACTIONAL, False, "Luxe Hair Studio: thanks for visiting today. Your receipt total was "
     "$85.40 incl. sales tax."),
    (C.APPOINTMENT_CONFIRMATION, False, "Luxe Hair Studio: confirmed - balayage with Jen, Tue "
     "1 pm. Free parking is available on Elm St."),
    (C.CONVERSATION, False, "Feel free to text us any time if your plans change."),
    (C.SERVICE_NOTIFICATION, False, "Luxe Hair Studio: time slots for next week are now open at "
     "luxehair.example/book."),
    (C.MARKETING, False, "Luxe Hair Studio: 20% off all blowouts this week only! Book at "
     "luxehair.example/book. Reply STOP to opt out."),
    (C.MARKETING, True, "Luxe Hair Studio: welcome! Enjoy $10 off your next color. Msg & data "
     "rates may apply. Reply STOP to opt out."),
    (C.CONVERSATION, False, "No problem, there's no hurry - reply whenever you're ready."),
    # plumber
    (C.SERVICE_NOTIFICATION, False, "Joe's Plumbing & Heating: our tech is on the way to check "
     "the gas leak and should arrive by 2 pm."),
    (C.APPOINTMENT_REMINDER, False, "Joe's Plumbing & Heating: reminder, your water heater install "
     "is tomorrow 8-10 am. Reply 1 to confirm, 2 to reschedule."),
    (C.CONVERSATION, False, "We'll bring a loaner water heater so you have hot water while we "
     "wait for the part."),
    (C.SERVICE_NOTIFICATION, False, "Joe's Plumbing & Heating: Mike will bring heat guns to thaw "
     "the frozen pipe this afternoon."),
    (C.TRANSACTIONAL, False, "Joe's Plumbing & Heating: invoice #2210 for $340.00 is paid. The "
     "repair is under warranty, free of charge, for 12 months."),
    (C.CONVERSATION, False, "The shutoff valve is behind the access panel; turn it clockwise to "
     "stop the water."),
    (C.CONVERSATION, False, "Our tech will stop by tomorrow between 9 and 11 to look at the "
     "drain."),
    (C.APPOINTMENT_CONFIRMATION, False, "Joes Plumbing and Heating: your drain cleaning is "
     "confirmed for Monday at 1 pm."),
    (C.SERVICE_NOTIFICATION, False, "JOE'S PLUMBING & HEATING: the city will shut off water on "
     "your street Tue 9 am-noon."),
    (C.MISSED_CALL_FOLLOWUP, True, "Joe's Plumbing & Heating: sorry we missed your call. For a "
     "burst pipe call 415-555-2671 now; otherwise reply with your address. Reply STOP to opt out."),
    (C.CONVERSATION, False, "Yes, the pistol-grip hose nozzle is included with the install."),
    (C.SERVICE_NOTIFICATION, False, "Joe's Plumbing & Heating: we found a potential leak behind "
     "the root beer fridge; we'll fix it Friday."),
    (C.CONVERSATION, False, "It's a 2-hour job, so we'll end around noon."),
    (C.CONVERSATION, False, "See you Tues.at 3 then, the back door is fine."),
]


@pytest.mark.parametrize(("category", "first", "body"), CLEAN)
def test_ordinary_business_messages_produce_no_finding_at_all(
    category: Category, first: bool, body: str
) -> None:
    """False-positive guard (R-CT-02, R-C-02, R-CT-01, R-K-08): everyday dentist, salon and
    plumber texts pass with no reason, and informational ones stay informational."""
    findings = screen(body, ctx_for(body, category, first))
    assert findings.reasons == (), [r.message for r in findings.reasons]
    assert findings.effective_category is category
    if category is not C.MARKETING:
        assert findings.promotional_terms == ()


def test_the_clean_list_is_big_enough() -> None:
    assert len(CLEAN) >= 40


# --------------------------------------------------------------------------- clearly bad

BAD: list[tuple[Category, bool, str, dict[str, Any], ReasonCode]] = [
    (C.APPOINTMENT_REMINDER, True, "Your cleaning is Tuesday at 3 pm.", {},
     ReasonCode.MISSING_BUSINESS_NAME),
    (C.MARKETING, False, "Bright Smile Dental: 20% off whitening this month!", {},
     ReasonCode.MISSING_OPT_OUT_LANGUAGE),
    (C.SERVICE_NOTIFICATION, False, "Bright Smile Dental: view your results at bit.ly/abc123", {},
     ReasonCode.PUBLIC_URL_SHORTENER),
    (C.SERVICE_NOTIFICATION, False, "Bright Smile Dental: forms at BIT.LY/x", {},
     ReasonCode.PUBLIC_URL_SHORTENER),
    (C.SERVICE_NOTIFICATION, False, "Bright Smile Dental: details at https://tinyurl.com/abc", {},
     ReasonCode.PUBLIC_URL_SHORTENER),
    (C.MISSED_CALL_FOLLOWUP, True, "Bright Smile Dental: sorry we missed you! Book now and get a "
     "free whitening. Reply STOP to opt out.", {}, ReasonCode.PROHIBITED_CONTENT),
    (C.SERVICE_NOTIFICATION, False, "Bright Smile Dental: your account is suspended, click here "
     "to verify your account.", {}, ReasonCode.PROHIBITED_CONTENT),
    (C.SERVICE_NOTIFICATION, False, "Bright Smile Dental: unusual login activity detected. Send "
     "your password to restore access.", {}, ReasonCode.PROHIBITED_CONTENT),
    (C.SERVICE_NOTIFICATION, False, "Luxe Hair Studio: come try our new CBD scalp treatment!", {},
     ReasonCode.PROHIBITED_CONTENT),
    (C.SERVICE_NOTIFICATION, False, "Luxe Hair Studio: enjoy a glass of wine with every blowout.",
     {}, ReasonCode.AGE_GATE_REQUIRED),
    (C.SERVICE_NOTIFICATION, False, "Luxe Hair Studio: vape shop grand opening next door.", {},
     ReasonCode.AGE_GATE_REQUIRED),
    (C.SERVICE_NOTIFICATION, False, "Joe's Plumbing & Heating: gun show this weekend, bring your "
     "handguns.", {}, ReasonCode.AGE_GATE_REQUIRED),
    (C.SERVICE_NOTIFICATION, False, "Joe's Plumbing & Heating: need cash fast? Ask about our "
     "payday loans.", {}, ReasonCode.PROHIBITED_CONTENT),
    (C.TRANSACTIONAL, False, "Joe's Plumbing & Heating: we now accept Bitcoin and other crypto.",
     {}, ReasonCode.PROHIBITED_CONTENT),
    (C.MARKETING, False, "Luxe Hair Studio: enter to win our holiday giveaway! Reply STOP to opt "
     "out.", {}, ReasonCode.PROHIBITED_CONTENT),
    (C.CONVERSATION, False, "Earn $500 a day from home and be your own boss!", {},
     ReasonCode.PROHIBITED_CONTENT),
    (C.SERVICE_NOTIFICATION, False, "Joe's Plumbing & Heating: debt relief and credit repair "
     "available, ask our office.", {}, ReasonCode.PROHIBITED_CONTENT),
    (C.CONVERSATION, False, "We can get you Xanax without a prescription, fast delivery.", {},
     ReasonCode.PROHIBITED_CONTENT),
    (C.CONVERSATION, False, "Casino night at our shop: poker and blackjack till late.", {},
     ReasonCode.PROHIBITED_CONTENT),
    (C.CONVERSATION, False, "Want nude pics from our after-party?", {},
     ReasonCode.PROHIBITED_CONTENT),
    (C.APPOINTMENT_REMINDER, False, "Luxe Hair Studio: your visit is Sat 11 am. Reply CANCEL to "
     "cancel your visit.", {}, ReasonCode.PROHIBITED_CONTENT),
    (C.APPOINTMENT_REMINDER, False, "Bright Smile Dental: cleaning Tue 9 am. Reply STOP to skip "
     "this week.", {}, ReasonCode.PROHIBITED_CONTENT),
    (C.APPOINTMENT_REMINDER, False, "Bright Smile Dental: cleaning Tue 9 am. Reply STOP2END", {},
     ReasonCode.MISSING_OPT_OUT_LANGUAGE),
    (C.APPOINTMENT_REMINDER, False, "Bright Smile Dental: call 212-555-0100 to reschedule.",
     {"campaign_embedded_phone": False}, ReasonCode.EMBEDDED_PHONE_NOT_IN_CAMPAIGN),
    (C.APPOINTMENT_REMINDER, False, "Bright Smile Dental: forms at brightsmile.example/forms",
     {"campaign_embedded_links": False}, ReasonCode.EMBEDDED_LINK_NOT_IN_CAMPAIGN),
    (C.TRANSACTIONAL, False, "Your receipt is ready.", {}, ReasonCode.MISSING_BUSINESS_NAME),
    (C.CONVERSATION, True, "Hi! Do you still need a plumber?", {},
     ReasonCode.MISSING_BUSINESS_NAME),
    (C.MARKETING, False, "Bright Smile Dental: get your first cleaning for free! Text STOP2END "
     "to quit.", {}, ReasonCode.MISSING_OPT_OUT_LANGUAGE),
    (C.HELP_REPLY, False, "Thanks for your message!", {}, ReasonCode.MISSING_BUSINESS_NAME),
    (C.OPT_OUT_CONFIRMATION, False, "Bright Smile Dental: you're unsubscribed. Use code SAVE20 "
     "for 20% off your next visit!", {}, ReasonCode.COMPLIANCE_REPLY_HAS_MARKETING),
    (C.OPT_OUT_CONFIRMATION, False, "Bright Smile Dental: you won't get more texts. Our specials: "
     "brightsmile.example/specials", {}, ReasonCode.COMPLIANCE_REPLY_HAS_MARKETING),
]


@pytest.mark.parametrize(("category", "first", "body", "overrides", "expected"), BAD)
def test_clearly_bad_messages_are_blocked_with_the_right_reason(
    category: Category, first: bool, body: str, overrides: dict[str, Any], expected: ReasonCode
) -> None:
    findings = screen(body, ctx_for(body, category, first, **overrides))
    assert expected in codes(findings), [r.message for r in findings.reasons]


def test_the_bad_list_is_big_enough() -> None:
    assert len(BAD) >= 25


# --------------------------------------------------------------------------- R-C-02 / T-13


def test_t13_reminder_with_an_offer_becomes_marketing_r_c_02() -> None:
    body = "Bright Smile Dental: Your cleaning is Tuesday — book a whitening for 20% off!"
    findings = screen(body, ctx_for(body, C.APPOINTMENT_REMINDER))
    assert findings.effective_category is C.MARKETING
    assert "20% off" in findings.promotional_terms
    warn = [r for r in findings.reasons if r.code is ReasonCode.MARKETING_REQUIRES_WRITTEN_CONSENT]
    assert warn and warn[0].severity is Severity.WARN and warn[0].rule == "R-C-02"
    # Once it is marketing it needs the marketing opt-out language too (R-K-08).
    assert ReasonCode.MISSING_OPT_OUT_LANGUAGE in codes(findings)


def test_r_c_02_informational_categories_become_marketing_when_promotional() -> None:
    body = "Bright Smile Dental: your crown is ready. Refer a friend and get $50 off!"
    for category in (C.APPOINTMENT_CONFIRMATION, C.SERVICE_NOTIFICATION, C.TRANSACTIONAL,
                     C.CONVERSATION):
        assert screen(body, ctx_for(body, category)).effective_category is C.MARKETING


@pytest.mark.parametrize(
    ("body", "term"),
    [
        ("Save 15% on whitening", "save 15%"),
        ("Use promo code SMILE", "promo"),
        ("Clip this coupon", "coupon"),
        ("Holiday deals all week", "holiday deals"),
        ("Get a FREE whitening kit", "get a free"),
        ("Complimentary consultation this week", "complimentary consultation"),
        ("Limited time: new client special", "limited time"),
        ("Book now, spots are going", "book now"),
        ("Refer a friend this spring", "refer a friend"),
        ("Color services now only $59", "now only $59"),
        ("Big sale on hair care", "sale"),
        ("Please leave us a review on Google", "leave us a review"),
        ("You're due for your 6-month cleaning", "you're due for"),
    ],
)
def test_r_c_02_promotional_lexicon(body: str, term: str) -> None:
    assert any(t.startswith(term) for t in promotional_terms(body)), promotional_terms(body)


@pytest.mark.parametrize(
    "body",
    [
        "Your warranty repair is free of charge.",
        "Feel free to call us back.",
        "Our toll-free line is open 24/7.",
        "Please use fragrance-free shampoo for a week.",
        "We offer Saturday appointments.",
        "Sales tax: $2.40",
        "We'll deal with the leak first.",
        "No hurry at all.",
        "You won't receive promotional messages from us anymore.",
    ],
)
def test_r_c_02_informational_wording_is_not_promotional(body: str) -> None:
    """Decision: "free of charge" in a notice, "feel free", "toll-free" and the verb "offer"
    are not advertising."""
    assert promotional_terms(body) == ()


def test_r_c_06_missed_call_followup_with_an_offer_is_blocked() -> None:
    body = ("Joe's Plumbing & Heating: sorry we missed you. 10% off drain cleaning! "
            "Reply STOP to opt out.")
    findings = screen(body, ctx_for(body, C.MISSED_CALL_FOLLOWUP, first=True))
    blocked = [r for r in findings.blocking if r.rule == "R-C-06"]
    assert blocked and blocked[0].code is ReasonCode.PROHIBITED_CONTENT


def test_marketing_category_with_offers_is_not_reclassified_or_warned() -> None:
    body = "Luxe Hair Studio: 20% off blowouts! Reply STOP to opt out."
    findings = screen(body, ctx_for(body, C.MARKETING))
    assert findings.reasons == ()
    assert findings.effective_category is C.MARKETING


# --------------------------------------------------------------------------- R-CT-03 / T-18


@pytest.mark.parametrize("body", ["BIT.LY/x", "bit.ly/x", "https://bit.ly/x", "see sub.bit.ly/x",
                                  "go to t.co/abc", "lnkd.in/xyz", "ｂｉｔ.ｌｙ/x", "bit[.]ly/x",
                                  "https://brand.app.link/abc", "http://evil.example@bit.ly/x"])
def test_r_ct_03_public_shorteners_are_caught_with_or_without_scheme(body: str) -> None:
    urls = find_urls(body)
    assert urls and any(is_public_shortener(u) for u in urls), urls
    findings = screen("Bright Smile Dental: " + body, ctx_for(DENTIST, C.SERVICE_NOTIFICATION))
    assert ReasonCode.PUBLIC_URL_SHORTENER in codes(findings)


@pytest.mark.parametrize("url", ["https://bit.ly.evil.example", "https://notbit.ly/x",
                                 "https://bit.lyrics.example/x", "https://bit.ly@evil.example/x",
                                 "brightsmile.example/bit.ly"])
def test_r_ct_03_different_registrable_domain_is_not_a_shortener(url: str) -> None:
    assert not is_public_shortener(url)
    findings = screen(f"Bright Smile Dental: {url}", ctx_for(DENTIST, C.SERVICE_NOTIFICATION))
    assert ReasonCode.PUBLIC_URL_SHORTENER not in codes(findings, blocking_only=False)


def test_r_ct_03_every_listed_shortener_in_the_rule_is_known() -> None:
    listed = [
        "bit.ly", "bitly.com", "tinyurl.com", "t.ly", "ow.ly", "is.gd", "rb.gy", "cutt.ly",
        "tiny.cc", "rebrand.ly", "bit.do", "goo.gl", "shorturl.at", "lnkd.in", "app.link",
        "s2r.co", "soo.gd", "shrtco.de", "t.co",
    ]
    assert set(listed) <= PUBLIC_SHORTENERS
    assert all(is_public_shortener(d) for d in listed)


def test_find_urls_ignores_emails_typos_and_abbreviations() -> None:
    assert find_urls("Email frontdesk@brightsmile.com, see you Tues.at 3 a.m. e.g. Dr.Smith") == ()
    assert find_urls("Book at www.brightsmile.us or brightsmile.com/book.") == (
        "www.brightsmile.us", "brightsmile.com/book")


def test_links_outside_the_registered_domains_are_a_warning() -> None:
    body = "Bright Smile Dental: forms at https://forms.other.example/x"
    findings = screen(body, ctx_for(body, C.SERVICE_NOTIFICATION))
    warn = [r for r in findings.reasons if r.code is ReasonCode.EMBEDDED_LINK_NOT_IN_CAMPAIGN]
    assert warn and warn[0].severity is Severity.WARN
    assert findings.blocking == ()
    sub = "Bright Smile Dental: forms at https://portal.brightsmile.example/x"
    assert screen(sub, ctx_for(sub, C.SERVICE_NOTIFICATION)).reasons == ()


# --------------------------------------------------------------------------- R-CT-04


def test_r_ct_04_embedded_phone_needs_the_campaign_flag_and_an_owned_number() -> None:
    body = "Bright Smile Dental: call (415) 555-2671 or 212-555-0100."
    findings = screen(body, ctx_for(body, C.SERVICE_NOTIFICATION))
    assert findings.phone_numbers == (OWN_NUMBER, "+12125550100")
    warn = [r for r in findings.reasons if r.code is ReasonCode.EMBEDDED_PHONE_NOT_IN_CAMPAIGN]
    assert len(warn) == 1 and warn[0].severity is Severity.WARN
    assert "+12125550100" in warn[0].message
    no_flag = screen(body, ctx_for(body, C.SERVICE_NOTIFICATION, campaign_embedded_phone=False))
    assert ReasonCode.EMBEDDED_PHONE_NOT_IN_CAMPAIGN in codes(no_flag)


def test_r_ct_04_unknown_campaign_skips_flag_checks() -> None:
    body = "Bright Smile Dental: call (415) 555-2671, forms at brightsmile.example/f"
    ctx = ContentContext(DENTIST, C.SERVICE_NOTIFICATION, first_message_to_contact=False)
    assert screen(body, ctx).reasons == ()


# --------------------------------------------------------------------------- R-CT-02


@pytest.mark.parametrize(
    "body",
    [
        "Get your flu shot at the front desk.",
        "Our tech found a gas leak.",
        "That's a potential problem.",
        "Whatever works for you.",
        "Your loaner car is ready.",
        "Wine-colored hair dye is in.",
        "Nail guns and glue guns are in the van.",
        "Please avoid tobacco and alcohol for 24 hours.",
        "Weekend slots are open.",
        "We'll meet at 420 Main St.",
        "Your method of payment was updated.",
    ],
)
def test_r_ct_02_classic_false_positives_are_not_flagged(body: str) -> None:
    ctx = ctx_for(body, C.CONVERSATION)
    assert screen(body, ctx).reasons == ()


def test_r_ct_02_each_finding_names_its_category() -> None:
    body = "Bright Smile Dental: free spins at our casino and cheap bitcoin"
    findings = screen(body, ctx_for(body, C.MARKETING))
    messages = " ".join(r.message for r in findings.reasons if r.rule == "R-CT-02")
    assert "gambling/sweepstakes" in messages and "cryptocurrency" in messages


def test_r_ct_02_age_restricted_content_follows_the_campaign_age_gate() -> None:
    body = "Luxe Hair Studio: mimosas on the house during your blowout!"
    gated = screen(body, ctx_for(body, C.MARKETING, campaign_age_gated=True))
    assert ReasonCode.AGE_GATE_REQUIRED not in codes(gated, blocking_only=False)
    not_gated = screen(body, ctx_for(body, C.MARKETING, campaign_age_gated=False))
    assert ReasonCode.AGE_GATE_REQUIRED in codes(not_gated)
    unknown = screen(body, ctx_for(body, C.MARKETING, campaign_age_gated=None))
    [reason] = [r for r in unknown.reasons if r.code is ReasonCode.AGE_GATE_REQUIRED]
    assert reason.severity is Severity.WARN and "alcohol" in reason.message


def test_r_ct_02_disallowed_content_is_blocked_even_on_an_age_gated_campaign() -> None:
    body = "Luxe Hair Studio: THC gummies at checkout"
    findings = screen(body, ctx_for(body, C.MARKETING, campaign_age_gated=True))
    assert ReasonCode.PROHIBITED_CONTENT in codes(findings)


# --------------------------------------------------------------------------- R-CT-01


def test_r_ct_01_first_message_without_business_name_is_refused() -> None:
    body = "Hi Sam, your visit is Tuesday at 3 pm. Reply STOP to opt out."
    findings = screen(body, ctx_for(body, C.CONVERSATION, first=True))
    assert codes(findings) == {ReasonCode.MISSING_BUSINESS_NAME}


def test_r_ct_01_later_conversation_reply_needs_no_business_name() -> None:
    body = "Yes, Tuesday at 3 pm works."
    assert screen(body, ctx_for(body, C.CONVERSATION, first=False)).reasons == ()


@pytest.mark.parametrize(
    "category",
    [C.APPOINTMENT_CONFIRMATION, C.APPOINTMENT_REMINDER, C.MISSED_CALL_FOLLOWUP,
     C.SERVICE_NOTIFICATION, C.TRANSACTIONAL, C.MARKETING],
)
def test_r_ct_01_every_automated_message_names_the_business(category: Category) -> None:
    body = "Your visit is Tuesday at 3 pm. Reply STOP to opt out."
    assert ReasonCode.MISSING_BUSINESS_NAME in codes(screen(body, ctx_for(body, category)))


@pytest.mark.parametrize(
    ("body", "name", "expected"),
    [
        ("BRIGHT SMILE DENTAL: hi", "Bright Smile Dental", True),
        ("Joes Plumbing and Heating: hi", "Joe's Plumbing & Heating", True),
        ("Joe’s Plumbing + Heating: hi", "Joe's Plumbing & Heating, LLC", True),
        ("Hair Lab: hi", "The Hair Lab", True),
        ("BrightSmile Dental: hi", "Bright Smile Dental", True),
        ("Café Olé Salon: hi", "Cafe Ole Salon", True),
        ("Thanks from Bright Smile's team", "Bright Smile", True),
        ("Please replace the filter", "Ace", False),
        ("Bright Dental: hi", "Bright Smile Dental", False),
        ("anything", "", False),
    ],
)
def test_r_ct_01_business_name_matching_is_tolerant(body: str, name: str, expected: bool) -> None:
    assert names_business(body, name) is expected


# --------------------------------------------------------------------------- R-K-08 / T-24


def test_r_k_08_marketing_without_reply_stop_is_refused() -> None:
    body = "Luxe Hair Studio: 20% off all color this week!"
    assert ReasonCode.MISSING_OPT_OUT_LANGUAGE in codes(screen(body, ctx_for(body, C.MARKETING)))


def test_r_k_08_first_message_needs_opt_out_language() -> None:
    body = "Bright Smile Dental: your visit is Tuesday at 3 pm."
    findings = screen(body, ctx_for(body, C.APPOINTMENT_REMINDER, first=True))
    assert codes(findings) == {ReasonCode.MISSING_OPT_OUT_LANGUAGE}
    assert screen(body, ctx_for(body, C.APPOINTMENT_REMINDER, first=False)).reasons == ()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Reply STOP to opt out", True),
        ("Reply STOP to end", True),
        ("Reply STOP to unsubscribe", True),
        ("reply stop to opt out", True),
        ("Text STOP to quit", True),
        ("Txt STOP", True),
        ('Reply "STOP" to stop receiving messages', True),
        ("To opt out, reply STOP.", True),
        ("Msg&data rates may apply. STOP to end", True),
        ("Responde STOP para cancelar", True),
        ("Responde PARA", True),
        ("STOP2END", False),
        ("Reply STOP2END", False),
        ("Reply stop2quit", False),
        ("reply stop", False),
        ("please stop by our office", False),
        ("We'll text you when we're on the way", False),
        ("", False),
    ],
)
def test_r_k_08_opt_out_language_detection(body: str, expected: bool) -> None:
    assert has_opt_out_language(body) is expected


def test_t24_joined_keyword_is_rejected_even_where_opt_out_is_not_required() -> None:
    body = "Bright Smile Dental: your visit is Tue. Text STOP2END anytime."
    findings = screen(body, ctx_for(body, C.APPOINTMENT_REMINDER, first=False))
    [reason] = findings.blocking
    assert reason.code is ReasonCode.MISSING_OPT_OUT_LANGUAGE and "STOP2END" in reason.message


# --------------------------------------------------------------------------- receptionist.md §1.6


@pytest.mark.parametrize(
    "body",
    [
        "Reply CANCEL to cancel your visit.",
        "reply STOP to skip this week",
        "Reply YES to confirm or CANCEL to cancel your appointment.",
        "To cancel your appointment, reply CANCEL.",
        "Reply CANCEL if you can't make it.",
        "Reply END to end your session.",
        "Responde CANCELAR para cancelar tu cita.",
    ],
)
def test_r_k_08_opt_out_words_are_never_menu_answers(body: str) -> None:
    text = f"Bright Smile Dental: {body}"
    findings = screen(text, ctx_for(text, C.APPOINTMENT_REMINDER))
    reasons = [r for r in findings.blocking if r.rule == "R-K-08 / receptionist.md §1.6"]
    assert reasons and reasons[0].code is ReasonCode.PROHIBITED_CONTENT


@pytest.mark.parametrize(
    "body",
    [
        "Your visit is Tue. Reply STOP to cancel.",
        "Reply STOP to opt out of appointment reminders.",
        "Reply STOP to stop texts from us.",
        "Reply STOP if you no longer want texts.",
        "Reply C to confirm, R to reschedule. Reply STOP to opt out.",
        "Reply HELP for help, STOP to end.",
    ],
)
def test_r_k_08_genuine_opt_out_instructions_are_not_misuse(body: str) -> None:
    text = f"Bright Smile Dental: {body}"
    assert screen(text, ctx_for(text, C.APPOINTMENT_REMINDER)).reasons == ()


# --------------------------------------------------------------------------- compliance replies


def test_r_k_03_good_help_reply_passes() -> None:
    body = ("Bright Smile Dental: help at brightsmile.example/help or (415) 555-2671. "
            "Msg & data rates may apply. Reply STOP to opt out.")
    assert screen_compliance_reply(body, DENTIST, C.HELP_REPLY) == ()


def test_r_k_03_help_reply_missing_parts_is_explained() -> None:
    reasons = screen_compliance_reply("Thanks for your message!", DENTIST, C.HELP_REPLY)
    assert {r.rule for r in reasons} == {"R-K-03"}
    assert len(reasons) == 3
    assert ReasonCode.MISSING_BUSINESS_NAME in {r.code for r in reasons}


def test_r_k_04_receptionist_example_opt_out_confirmation_passes() -> None:
    body = ("Bright Smile Dental: you're unsubscribed and won't get more texts from us. Your Tue "
            "3:00 pm visit is still booked; call (415) 555-2671 to change it. Reply START to "
            "resubscribe.")
    assert screen_compliance_reply(body, DENTIST, C.OPT_OUT_CONFIRMATION) == ()
    ctx = ctx_for(body, C.OPT_OUT_CONFIRMATION, campaign_embedded_phone=False)
    assert screen(body, ctx).reasons == ()


def test_r_k_04_opt_out_confirmation_allows_only_a_care_url() -> None:
    ok = "Bright Smile Dental: you're unsubscribed. Questions: brightsmile.example/help"
    assert screen_compliance_reply(ok, DENTIST, C.OPT_OUT_CONFIRMATION) == ()
    bad = "Bright Smile Dental: you're unsubscribed. Book again: brightsmile.example/book"
    [reason] = screen_compliance_reply(bad, DENTIST, C.OPT_OUT_CONFIRMATION)
    assert reason.code is ReasonCode.COMPLIANCE_REPLY_HAS_MARKETING


def test_r_fcc_03_opt_out_confirmation_with_promotion_is_blocked() -> None:
    body = "Bright Smile Dental: you're unsubscribed. Come back for 20% off!"
    reasons = screen_compliance_reply(body, DENTIST, C.OPT_OUT_CONFIRMATION)
    assert [r.code for r in reasons] == [ReasonCode.COMPLIANCE_REPLY_HAS_MARKETING]
    assert reasons[0].rule == "R-K-04 / R-FCC-03"


def test_r_k_04_opt_out_confirmation_must_confirm() -> None:
    reasons = screen_compliance_reply("Bright Smile Dental: got it.", DENTIST,
                                      C.OPT_OUT_CONFIRMATION)
    assert [r.rule for r in reasons] == ["R-K-04"]


def test_r_k_05_opt_in_confirmation_needs_every_token() -> None:
    good = ("Bright Smile Dental: you're subscribed to appointment reminders. Msg freq varies. "
            "Msg & data rates may apply. Reply HELP for help, STOP to opt out.")
    assert screen_compliance_reply(good, DENTIST, C.OPT_IN_CONFIRMATION) == ()
    bare = "Bright Smile Dental: you're subscribed."
    reasons = screen_compliance_reply(bare, DENTIST, C.OPT_IN_CONFIRMATION)
    assert len(reasons) == 4 and {r.rule for r in reasons} == {"R-K-05"}


def test_screen_compliance_reply_rejects_a_non_compliance_kind() -> None:
    with pytest.raises(ValueError):
        screen_compliance_reply("x", DENTIST, C.MARKETING)


# --------------------------------------------------------------------------- properties

CATEGORIES = list(Category)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.text(max_size=400),
    category=st.sampled_from(CATEGORIES),
    first=st.booleans(),
    flags=st.tuples(*[st.sampled_from([None, True, False])] * 3),
)
def test_screen_never_raises_on_arbitrary_text(
    body: str, category: Category, first: bool, flags: tuple[bool | None, ...]
) -> None:
    ctx = ContentContext(
        business_name="Bright Smile Dental",
        category=category,
        first_message_to_contact=first,
        campaign_embedded_links=flags[0],
        campaign_embedded_phone=flags[1],
        campaign_age_gated=flags[2],
        tenant_numbers=frozenset({OWN_NUMBER}),
        allowed_link_domains=frozenset({"brightsmile.example"}),
    )
    findings = screen(body, ctx)
    assert all(r.rule and r.message and r.fix for r in findings.reasons)
    assert set(findings.blocking) <= set(findings.reasons)


@settings(max_examples=300)
@given(
    clean=st.sampled_from(CLEAN),
    host=st.sampled_from(sorted(PUBLIC_SHORTENERS)),
    scheme=st.sampled_from(["", "http://", "https://", "HTTPS://"]),
    sub=st.sampled_from(["", "go.", "www."]),
    path=st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
    upper=st.booleans(),
)
def test_appending_a_shortener_to_any_clean_body_adds_public_url_shortener(
    clean: tuple[Category, bool, str], host: str, scheme: str, sub: str, path: str, upper: bool
) -> None:
    category, first, body = clean
    link = f"{scheme}{sub}{host}/{path}"
    findings = screen(f"{body} {link.upper() if upper else link}", ctx_for(body, category, first))
    assert ReasonCode.PUBLIC_URL_SHORTENER in codes(findings)


@given(
    words=st.lists(st.from_regex(r"[A-Za-z][a-z]{1,9}", fullmatch=True), min_size=1, max_size=4),
    rest=st.text(max_size=80),
)
def test_a_body_that_starts_with_the_business_name_names_it(words: list[str], rest: str) -> None:
    name = " ".join(words)
    assert names_business(f"{name}: {rest}", name)
    assert names_business(f"{name.upper()} - {rest}", name)


# --------------------------------------------------------------------------- pre-filter soundness

_PATTERNS = [(lex.label, lex.triggers, lex.pattern) for lex in content._LEXICONS] + [
    (pattern.pattern[:40], triggers, pattern) for triggers, pattern in content._PROMO
]


@pytest.mark.parametrize(("label", "triggers", "pattern"), _PATTERNS, ids=[p[0] for p in _PATTERNS])
def test_every_lexicon_match_contains_one_of_its_trigger_substrings(
    label: str, triggers: tuple[str, ...], pattern: re.Pattern[str]
) -> None:
    """The screen skips a lexicon whose trigger substrings are absent (speed); that is only
    sound if every string the lexicon matches contains a trigger."""

    @settings(max_examples=60, suppress_health_check=list(HealthCheck), database=None)
    @given(st.from_regex(pattern, fullmatch=False))
    def check(text: str) -> None:
        for m in pattern.finditer(text.lower()):
            assert any(t in m.group(0) for t in triggers), (label, m.group(0))

    check()


@pytest.mark.parametrize(
    ("body", "category"),
    [
        ("Verify your account now", "phishing/smishing"),
        ("Your account has been suspended", "phishing/smishing"),
        ("Reply with your PIN", "phishing/smishing"),
        ("You have won! Claim your prize", "phishing/smishing"),
        ("Adult videos tonight", "sexual content"),
        ("White power rally", "hate speech"),
        ("Fresh kush and pre-rolls", "cannabis/CBD"),
        ("Delta-8 gummies", "cannabis/CBD"),
        ("Cheap oxycodone delivered", "illegal drugs / prescription drugs without a prescription"),
        ("No prescription needed", "illegal drugs / prescription drugs without a prescription"),
        ("Get your cash advance today", "payday / short-term loans"),
        ("Consolidate your debt now", "debt collection / debt relief"),
        ("We can fix your credit score", "credit repair"),
        ("Sports betting odds", "gambling/sweepstakes"),
        ("Buy NFTs and ethereum", "cryptocurrency"),
        ("Financial freedom through passive income", "get-rich-quick"),
        ("Work from home jobs available", "work-from-home schemes"),
        ("Join my team in network marketing", "multi-level marketing"),
    ],
)
def test_r_ct_02_lexicons_recognise_their_category(body: str, category: str) -> None:
    ctx = ctx_for(body, C.CONVERSATION)
    messages = [r.message for r in screen(body, ctx).blocking if r.rule == "R-CT-02"]
    assert any(category in m for m in messages), messages
