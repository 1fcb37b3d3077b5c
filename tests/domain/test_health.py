"""R-E-04 health thresholds and the R-R-06 Sev-0 trigger, as a pure verdict on figures."""

from __future__ import annotations

import pytest

from frontdesk.domain.health import DEFAULT_THRESHOLDS, HealthFigures, Thresholds, assess


def test_R_E_04_healthy_traffic_is_ok() -> None:
    verdict = assess(HealthFigures(sent=500, delivered=495, recipients=480, opt_outs=2, errors=5))
    assert verdict.level == "ok"
    assert verdict.findings == ()


@pytest.mark.parametrize(
    ("figures", "metric"),
    [
        (HealthFigures(sent=200, recipients=200, opt_outs=2), "opt_out_rate"),  # 1 %
        (HealthFigures(sent=200, recipients=200, errors=12), "error_rate"),  # 6 %
        (HealthFigures(sent=200, recipients=200, filtered=2), "filtered_rate"),  # 1 %
    ],
)
def test_R_E_04_warns_at_one_percent_opt_out_six_percent_error_one_percent_filtered(
    figures: HealthFigures, metric: str
) -> None:
    verdict = assess(figures)
    assert verdict.level == "warn"
    [finding] = verdict.findings
    assert (finding.rule, finding.metric, finding.level) == ("R-E-04", metric, "warn")


@pytest.mark.parametrize(
    ("figures", "metric", "threshold"),
    [
        (HealthFigures(sent=100, recipients=100, opt_outs=2), "opt_out_rate", 0.02),
        (HealthFigures(sent=100, recipients=100, errors=12), "error_rate", 0.12),
        (HealthFigures(sent=100, recipients=100, filtered=3), "filtered_rate", 0.03),
    ],
)
def test_R_E_04_suspends_at_the_threshold_with_the_minimum_sample(
    figures: HealthFigures, metric: str, threshold: float
) -> None:
    verdict = assess(figures)
    assert verdict.level == "suspend"
    top = [f for f in verdict.findings if f.level == "suspend"]
    assert [(f.metric, f.threshold) for f in top] == [(metric, threshold)]
    assert top[0].value == pytest.approx(threshold)


def test_R_E_04_just_below_a_suspension_threshold_only_warns() -> None:
    verdict = assess(HealthFigures(sent=1000, recipients=1000, opt_outs=19))  # 1.9 %
    assert verdict.level == "warn"


def test_R_E_04_below_the_minimum_sample_a_high_rate_only_warns() -> None:
    verdict = assess(HealthFigures(sent=99, recipients=99, opt_outs=5, errors=20, filtered=10))
    assert verdict.level == "warn"
    assert not verdict.sample_sufficient
    assert {f.metric for f in verdict.findings} == {"opt_out_rate", "error_rate", "filtered_rate"}
    assert all("sample 99 < 100" in f.message for f in verdict.findings)


def test_R_R_06_a_sev0_complaint_suspends_whatever_the_sample() -> None:
    verdict = assess(HealthFigures(sev0_complaints=1, complaints=1))
    assert verdict.level == "suspend"
    assert verdict.findings[0].rule == "R-R-06"
    assert "Sev-0" in verdict.reason()


def test_R_E_04_an_ordinary_complaint_warns() -> None:
    verdict = assess(HealthFigures(sent=10, recipients=10, complaints=1))
    assert verdict.level == "warn"
    assert verdict.findings[0].metric == "complaints"


def test_R_E_04_the_opt_out_rate_is_per_unique_recipient_not_per_message() -> None:
    # 300 messages to 100 people, 2 opted out: 2 % of recipients (0.67 % of messages).
    figures = HealthFigures(sent=300, recipients=100, opt_outs=2)
    assert figures.opt_out_rate == pytest.approx(0.02)
    assert assess(figures).level == "suspend"


def test_R_E_04_thresholds_are_data() -> None:
    strict = Thresholds(suspend_opt_out=0.01, min_sample=10)
    figures = HealthFigures(sent=50, recipients=50, opt_outs=1)
    assert assess(figures).level == "warn"
    assert assess(figures, strict).level == "suspend"
    assert DEFAULT_THRESHOLDS.as_dict()["min_sample"] == 100


def test_no_traffic_is_ok() -> None:
    assert assess(HealthFigures()).level == "ok"
