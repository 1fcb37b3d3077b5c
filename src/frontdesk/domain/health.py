"""A tenant's sending health against the thresholds of R-E-04 (and the Sev-0 trigger of R-R-06).

No carrier publishes official opt-out or error thresholds (R-E-04); the platform
defaults below are the ones resellers publish, kept as data so an operator can
tune them per deployment. :func:`assess` is pure: the service layer counts the
figures in a rolling window and decides what to do with the verdict.

* ``warn`` at an opt-out rate ≥ 1 %, a delivery error rate ≥ 6 % or a carrier
  filtered (30007) rate ≥ 1 %, or on any carrier complaint;
* ``suspend`` at an opt-out rate ≥ 2 %, an error rate ≥ 12 % or a filtered rate
  ≥ 3 % once the window holds the minimum sample (100 messages), and on any
  Sev-0 notice whatever the sample (R-R-06: a carrier's Sev-0 is a kill switch).

The minimum sample guards small senders: two opt-outs among ten texts is 20 %,
yet says nothing about the tenant's list; a threshold is only evidence once the
sample is large enough for the rate to mean something.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Level = Literal["ok", "warn", "suspend"]

RULE = "R-E-04"
SEV0_RULE = "R-R-06"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Rates as fractions (0.02 = 2 %); ``min_sample`` in messages sent in the window."""

    warn_opt_out: float = 0.01
    warn_error: float = 0.06
    warn_filtered: float = 0.01
    suspend_opt_out: float = 0.02
    suspend_error: float = 0.12
    suspend_filtered: float = 0.03
    min_sample: int = 100

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_THRESHOLDS = Thresholds()


def _rate(part: int, whole: int) -> float:
    return part / whole if whole > 0 else 0.0


@dataclass(frozen=True, slots=True)
class HealthFigures:
    """Counts over one rolling window.

    ``sent``: messages offered to a carrier; ``recipients``: the unique numbers
    among them (the opt-out rate's denominator per R-E-04); ``errors``: those
    that ended ``undelivered`` or ``failed``; ``filtered``: those refused with
    30007; ``opt_outs``: unique numbers that opted out, by text or at the carrier.
    """

    sent: int = 0
    delivered: int = 0
    recipients: int = 0
    opt_outs: int = 0
    errors: int = 0
    filtered: int = 0
    complaints: int = 0
    sev0_complaints: int = 0

    @property
    def opt_out_rate(self) -> float:
        return _rate(self.opt_outs, self.recipients)

    @property
    def error_rate(self) -> float:
        return _rate(self.errors, self.sent)

    @property
    def filtered_rate(self) -> float:
        return _rate(self.filtered, self.sent)


@dataclass(frozen=True, slots=True)
class Finding:
    """One threshold crossed: which rule, which metric, its value and the limit it reached."""

    rule: str
    metric: str
    level: Level
    value: float
    threshold: float
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "metric": self.metric,
            "level": self.level,
            "value": round(self.value, 6),
            "threshold": self.threshold,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class HealthAssessment:
    level: Level
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    sample_sufficient: bool = False

    @property
    def suspend(self) -> bool:
        return self.level == "suspend"

    def reason(self) -> str:
        """One line for the suspension record: the findings that suspend."""
        worst = [f for f in self.findings if f.level == "suspend"] or list(self.findings)
        return "; ".join(f.message for f in worst) or "healthy"


_METRICS: tuple[tuple[str, str, str, str], ...] = (
    # metric, figures property, warn attribute, suspend attribute
    ("opt_out_rate", "opt_out_rate", "warn_opt_out", "suspend_opt_out"),
    ("error_rate", "error_rate", "warn_error", "suspend_error"),
    ("filtered_rate", "filtered_rate", "warn_filtered", "suspend_filtered"),
)

_LABELS = {
    "opt_out_rate": "opt-out rate",
    "error_rate": "delivery error rate",
    "filtered_rate": "carrier-filtered (30007) rate",
}


def assess(figures: HealthFigures, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> HealthAssessment:
    """The verdict of R-E-04 and R-R-06 on one window's figures."""
    findings: list[Finding] = []
    sufficient = figures.sent >= thresholds.min_sample
    if figures.sev0_complaints > 0:
        findings.append(
            Finding(
                SEV0_RULE,
                "sev0_complaints",
                "suspend",
                float(figures.sev0_complaints),
                1.0,
                f"{figures.sev0_complaints} carrier Sev-0 notice(s): SMS suspended at once",
            )
        )
    if figures.complaints > 0:
        findings.append(
            Finding(
                RULE,
                "complaints",
                "warn",
                float(figures.complaints),
                1.0,
                f"{figures.complaints} carrier complaint(s): expect a demand for proof of opt-in",
            )
        )
    for metric, prop, warn_attr, suspend_attr in _METRICS:
        value = float(getattr(figures, prop))
        warn_at = float(getattr(thresholds, warn_attr))
        suspend_at = float(getattr(thresholds, suspend_attr))
        label = _LABELS[metric]
        if value >= suspend_at and sufficient:
            findings.append(
                Finding(
                    RULE,
                    metric,
                    "suspend",
                    value,
                    suspend_at,
                    f"{label} {value:.2%} reached the suspension threshold {suspend_at:.0%} "
                    f"on {figures.sent} messages",
                )
            )
        elif value >= warn_at and figures.sent > 0:
            note = "" if sufficient else f" (sample {figures.sent} < {thresholds.min_sample})"
            findings.append(
                Finding(
                    RULE,
                    metric,
                    "warn",
                    value,
                    warn_at,
                    f"{label} {value:.2%} reached the warning threshold {warn_at:.0%}{note}",
                )
            )
    level: Level = "ok"
    if any(f.level == "suspend" for f in findings):
        level = "suspend"
    elif findings:
        level = "warn"
    return HealthAssessment(level, tuple(findings), sufficient)
