"""The city policy (城市政策): one validated document, loaded once per process, on first use (not at import: a cold
start that never reads a figure does not pay for it; see get).

``GJJ_POLICY`` names a file under ``chalicelib/policies/`` (``taiyuan`` by default) or a path.
A bad file fails fast with every problem listed (`PolicyError`); nothing runs on a half-read policy.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chalicelib import settings
from chalicelib.money import Money

POLICY_DIR = Path(__file__).resolve().parent / "policies"


class PolicyError(RuntimeError):
    pass


class _Strict(BaseModel):
    # defer_build: the validators are built by the first load (one Policy.model_validate), not when the module is
    # imported by every service
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


Percent = Decimal


class Deposit(_Strict):
    ratio_min: Percent
    ratio_max: Percent
    base_floor: Money
    average_monthly_wage: Money
    base_cap_multiple: int = Field(ge=1, le=5)
    share_rounding: Literal["yuan_half_up", "fen"]
    base_adjustment_month: int = Field(ge=1, le=12)
    base_adjustments_per_year: int = Field(ge=1)
    annual_interest_rate: Percent
    interest_settlement: dict[Literal["month", "day"], int]

    @property
    def base_cap(self) -> int:
        return self.average_monthly_wage * self.base_cap_multiple

    @model_validator(mode="after")
    def _ranges(self):
        if not (0 < self.ratio_min <= self.ratio_max <= 100):
            raise ValueError("deposit ratios must satisfy 0 < ratio_min <= ratio_max <= 100")
        if self.base_floor > self.base_cap:
            raise ValueError("base_floor is above the base cap")
        return self


class Window(_Strict):
    first_day: int = Field(ge=1, le=31)
    last_day: int = Field(ge=1, le=31)
    opens_at: dt.time
    closes_at: dt.time

    @model_validator(mode="after")
    def _order(self):
        if self.first_day > self.last_day or self.opens_at >= self.closes_at:
            raise ValueError("the window must open before it closes")
        return self


class BackPayment(_Strict):
    max_months: int = Field(ge=0, le=120)
    before_opening: bool


class Flexible(_Strict):
    monthly_amount_min: Money
    monthly_amount_max: Money
    remittance_window: Window
    adjustment_month: int = Field(ge=1, le=12)
    adjustments_per_year: int = Field(ge=1)
    back_payment: BackPayment
    remittance_reminder_day: int = Field(ge=1, le=28)
    window_cache_seconds: int = Field(ge=0, le=300)       # how long a process trusts its read of the window

    @model_validator(mode="after")
    def _range(self):
        if self.monthly_amount_min > self.monthly_amount_max:
            raise ValueError("monthly_amount_min is above monthly_amount_max")
        return self


WITHDRAWAL_TYPES = (
    "retirement", "incapacity", "abroad", "employment_ended", "unemployment", "rent", "purchase", "build",
    "hpf_loan_repayment", "commercial_loan_repayment", "property_fee", "loan_down_payment",
)


class WithdrawalRule(_Strict):
    name: str
    review: Literal["automatic", "manual"]
    closes_account: bool = False
    account_status: list[Literal["normal", "sealed", "frozen"]]
    min_sealed_months: int | None = None
    min_paid_months: int | None = None
    interval_months: int | None = None
    cap: Money | None = None
    housing_consumption: bool = False
    no_open_loan: bool = False
    round_down_to: Money | None = None            # the most one may take is rounded down to this (seed: ¥6900.00)
    cap_by_loan_balance: bool = False             # not above the balance of the HPF loan it repays
    not_with_offset: bool = False                 # refused while that loan has 月对冲 signed
    loan_statuses: list[Literal["applying", "approved", "normal", "overdue"]] | None = None   # needs such a loan
    person_not_depositing: bool = False           # refused while any of the person's accounts is still paid into
    retirement_age: bool = False                  # the person has reached the statutory retirement age
    early_retirement: Literal["refuse", "review"] = "refuse"   # below it: refused, or reviewed with an approval
    once_per_contract: str | None = None          # the details field naming the contract: one withdrawal each
    within_months_of: str | None = None           # the details field holding the date the window counts from
    within_months: int | None = Field(None, ge=1, le=120)

    @model_validator(mode="after")
    def _sane(self):
        if self.round_down_to is not None and self.round_down_to <= 0:
            raise ValueError("round_down_to must be positive")
        if self.closes_account and (self.cap is not None or self.round_down_to is not None):
            raise ValueError("an account-closing type pays the whole balance: no cap, no rounding")
        if self.cap_by_loan_balance and not self.loan_statuses:
            raise ValueError("cap_by_loan_balance needs loan_statuses")
        if (self.within_months is None) != (self.within_months_of is None):
            raise ValueError("within_months and within_months_of go together")
        if self.closes_account and not self.no_open_loan:
            raise ValueError("an account-closing type needs no_open_loan (请先结清住房公积金贷款)")
        return self


class Withdrawals(_Strict):
    keep_while_loan_open: Money
    housing_consumption_exclusive: bool
    types: dict[str, WithdrawalRule]

    @field_validator("types")
    @classmethod
    def _all_types(cls, value: dict[str, WithdrawalRule]):
        missing = set(WITHDRAWAL_TYPES) - set(value)
        unknown = set(value) - set(WITHDRAWAL_TYPES)
        if missing or unknown:
            raise ValueError(f"withdrawal types missing {sorted(missing)}, unknown {sorted(unknown)}")
        return value


class RetirementGroup(_Strict):
    """One group of the 2024 NPC schedule (see chalicelib/rules/retirement.py)."""

    original_years: int = Field(ge=40, le=70)             # the age before the reform
    first_births: dt.date                                 # "YYYY-MM": the first birth month the reform delays
    birth_months_per_month: int = Field(ge=1, le=12)      # birth months that share one month of delay
    max_delay_months: int = Field(ge=0, le=120)           # the final delay

    @field_validator("first_births", mode="before")
    @classmethod
    def _month(cls, value):
        if isinstance(value, str) and len(value) == 7:
            value = f"{value}-01"
        return value


class WomenGroup(_Strict):
    withdrawal: Literal["women_55", "women_50"]           # 离退休提取: when a woman has reached the age
    loan: Literal["women_55", "women_50"]                 # the loan age limit


class RetirementAge(_Strict):
    groups: dict[Literal["men", "women_55", "women_50"], RetirementGroup]
    women_group: WomenGroup

    @field_validator("groups")
    @classmethod
    def _all(cls, value):
        if set(value) != {"men", "women_55", "women_50"}:
            raise ValueError("retirement_age.groups needs men, women_55 and women_50")
        return value


class Prepayment(_Strict):
    min_months_repaid: int = Field(ge=0)
    min_amount: Money
    times_per_year: int = Field(ge=1)


class Offset(_Strict):
    min_periods_paid: int = Field(ge=0)


class Settlement(_Strict):
    days_per_year: int = Field(default=360, ge=360, le=366)    # accrued interest = balance × rate / days × days


class Repayment(_Strict):
    """How an installment's interest is charged (repayment records), and what an overdue one costs.

    ``interest``: ``monthly`` (the plan's ``balance × rate / 12``) or ``actual_days`` (``balance × rate /
    days_per_year × days`` since the previous due date, as seed 004's 贷款明细 shows). Plans and calculators always
    use the monthly formula. ``penalty_factor``: penalty interest (罚息) a day on the overdue amount is this many times
    the loan's daily rate (``rate / days_per_year``)."""

    interest: Literal["monthly", "actual_days"] = "monthly"
    penalty_factor: Decimal = Field(default=Decimal("1.5"), ge=1, le=3)
    source: str = ""


class Repricing(_Strict):
    """重定价: on ``month``/``day`` each year loans with a term over ``term_over_months`` move to the rate in force."""

    month: int = Field(default=1, ge=1, le=12)
    day: int = Field(default=1, ge=1, le=28)
    term_over_months: int = Field(default=12, ge=0)
    source: str = ""


class Loans(_Strict):
    max_term_months: int = Field(ge=12, le=360)
    prepayment: Prepayment
    offset: Offset
    settlement: Settlement = Settlement()
    years_after_retirement: int = Field(default=5, ge=0, le=20)   # term ends by statutory retirement age + this
    repayment: Repayment = Repayment()
    repricing: Repricing = Repricing()


class DepositRate(_Strict):
    effective_from: dt.date
    rate: Percent
    source: str = ""


class Band(_Strict):
    up_to_5_years: Percent
    over_5_years: Percent


class LoanRate(_Strict):
    effective_from: dt.date
    first_home: Band
    second_home: Band
    source: str = ""


class Rates(_Strict):
    deposit: list[DepositRate] = Field(min_length=1)
    loan: list[LoanRate] = Field(min_length=1)

    @model_validator(mode="after")
    def _sorted(self):
        for table in (self.deposit, self.loan):
            dates = [r.effective_from for r in table]
            if dates != sorted(dates) or len(set(dates)) != len(dates):
                raise ValueError("rate tables must be in increasing effective_from order")
        return self

    def loan_rate_on(self, day: dt.date) -> LoanRate:
        current = [r for r in self.loan if r.effective_from <= day]
        return current[-1] if current else self.loan[0]

    def deposit_rate_on(self, day: dt.date) -> DepositRate:
        current = [r for r in self.deposit if r.effective_from <= day]
        return current[-1] if current else self.deposit[0]


class Appointments(_Strict):
    book_days_ahead: int = Field(ge=1, le=366)
    reminder_hour: int = Field(ge=0, le=23)
    max_active_per_person: int = Field(ge=1, le=20)       # booked and not yet past


class Uploads(_Strict):
    max_bytes: int = Field(ge=1024, le=50 * 1024 * 1024)
    url_expires_seconds: int = Field(ge=60, le=3600)
    keep_hours: int = Field(ge=1, le=24 * 30)            # an upload id is usable this long
    content_types: list[str] = Field(min_length=1)


class Security(_Strict):
    sms_code_ttl_seconds: int = Field(ge=60, le=600)
    sms_code_max_wrong: int = Field(ge=1, le=10)
    sms_resend_seconds: int = Field(ge=0)
    sms_daily_cap: int = Field(ge=1)
    sms_ip_daily_cap: int = Field(default=100, ge=1)   # codes one source IP may ask for a day
    captcha_after_failures: int = Field(ge=1)
    lock_after_failures: int = Field(ge=1, le=100)
    lock_minutes: int = Field(ge=1)
    access_token_seconds: int = Field(ge=60, le=3600)
    session_idle_minutes: int = Field(ge=1)
    session_absolute_hours: int = Field(ge=1, le=24)
    refresh_grace_seconds: int = Field(ge=0, le=300)
    step_up_seconds: int = Field(ge=30, le=900)
    face_similarity_threshold: int = Field(ge=50, le=100)
    # anti-automation where anybody can aim a request at somebody else (ASVS 2.2.1; issue 17 items 3 and 5)
    register_codes_before_captcha: int = Field(default=3, ge=1, le=100)   # per source a day, then a captcha
    reset_attempts_per_id_per_day: int = Field(default=10, ge=1, le=100)  # password resets tried for one ID
    reset_attempts_per_source_per_day: int = Field(default=50, ge=1)      # ... and from one source IP


class Idempotency(_Strict):
    keep_hours: int = Field(ge=24)
    in_progress_seconds: int = Field(ge=5, le=900)


class DepositCertificate(_Strict):
    """缴存证明: how long its verification code confirms it."""

    valid_days: int = Field(default=90, ge=1, le=366)


class SmsDispatch(_Strict):
    """The ``dispatch-sms`` job: pages of the queue, retries with exponential back-off, then give up."""

    batch_size: int = Field(default=50, ge=1, le=100)          # items read from the queue per Query
    max_per_run: int = Field(default=500, ge=1)                # a run stops after this many sends
    max_attempts: int = Field(default=6, ge=1, le=50)          # then the SMS is given up (audited)
    backoff_base_seconds: int = Field(default=60, ge=1)        # wait after the first failure; doubles each time
    backoff_max_seconds: int = Field(default=3600, ge=1)
    lease_seconds: int = Field(default=120, ge=10, le=900)     # a claimed SMS is invisible to other runs this long

    def backoff(self, attempts: int) -> int:
        """Seconds to wait after the ``attempts``-th failed send."""
        return min(self.backoff_max_seconds, self.backoff_base_seconds * 2 ** max(0, attempts - 1))

class UnitHall(_Strict):
    """单位网厅: how far back a roster may reach, back-payment limits, lines in one request."""

    roster_months_back: int = Field(ge=0, le=12)       # a roster (汇缴清册) pays this month or up to N before
    back_payment_max_months: int = Field(ge=1, le=120)  # months one employee's back-payment (补缴) may cover
    max_lines_per_request: int = Field(ge=1, le=5000)   # employees in one base adjustment or back-payment
    registration_refusals_per_day: int = Field(default=20, ge=1, le=1000)  # 缴存人登记 refused, then 429 that day


class DeveloperHall(_Strict):
    """开发商网厅: the limits a buyer's loan application (贷款申请) is checked against."""

    loan_max_price_percent: Percent                    # principal ≤ this share of the house price
    loan_max_principal: Money                          # the city's highest HPF loan

    @model_validator(mode="after")
    def _share(self):
        if not (0 < self.loan_max_price_percent <= 100):
            raise ValueError("loan_max_price_percent must be in (0, 100]")
        return self


class WebHalls(_Strict):
    """Unit and developer web halls (单位网厅/开发商网厅): certificate login and their business limits."""

    challenge_seconds: int = Field(ge=30, le=600)      # a login challenge is usable this long, once
    certificate_days: int = Field(ge=30, le=3650)      # validity of a certificate the center issues
    units: UnitHall
    developers: DeveloperHall


class Policy(_Strict):
    city: str
    center_name: str
    timezone: Literal["Asia/Shanghai"]
    deposit: Deposit
    flexible: Flexible
    withdrawals: Withdrawals
    retirement_age: RetirementAge
    loans: Loans
    rates: Rates
    appointments: Appointments
    uploads: Uploads
    security: Security
    idempotency: Idempotency
    deposit_certificate: DepositCertificate = DepositCertificate()
    sms_dispatch: SmsDispatch = SmsDispatch()

    web_halls: WebHalls


def resolve_path(name: str) -> Path:
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml", ".json") and candidate.exists():
        return candidate
    for suffix in (".yaml", ".yml", ".json"):
        path = POLICY_DIR / f"{name}{suffix}"
        if path.exists():
            return path
    raise PolicyError(f"no policy file named {name!r} (looked in {POLICY_DIR})")


def load_file(path: Path) -> Policy:
    import yaml  # lazy: only on first load

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml when built in: ~20x faster, same documents
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 (a safe loader)
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"cannot read policy {path}: {exc}") from exc
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise PolicyError(f"invalid policy {path}: {problems}") from exc


@lru_cache(maxsize=4)
def _load(name: str) -> Policy:
    return load_file(resolve_path(name))


def get() -> Policy:
    """The policy of this process, validated on first use (the first request or job that reads a figure).

    A bad file still fails loudly before any traffic: ``chalice package`` (``make package``) writes the schedule of
    ``reprice-loans``, which is read from the policy (app.py), so a deployment package is never built on it."""
    return _load(settings.get().policy_file)


def reset() -> None:
    _load.cache_clear()
