"""The contract as configured: ``[contract]`` with flag overrides, into ``rules.plan``.

One reader for ``sfexit deadline``, ``sfexit notice``, ``sfexit offboard`` and ``users
licences``, so all of them compute with the same contract and the same way of leaving. Pure:
settings and flag text in, typed values out; today is a parameter.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from sfexit import rules
from sfexit.config import ContractSettings
from sfexit.errors import UsageError

_DAY_COUNTS = ("notice_days", "recommended_notice_days", "refund_full_days",
               "renewal_window_days")


@dataclasses.dataclass(frozen=True)
class ContractFlags:
    """Contract values as typed on the command line (None: take the config's)."""

    start: str | None = None
    end: str | None = None
    paid: str | None = None
    currency: str | None = None
    fee: str | None = None
    leave: str | None = None
    effective: str | None = None


@dataclasses.dataclass(frozen=True)
class ResolvedContract:
    """The contract to compute with. ``paid_known`` False: no amount given, no refund shown."""

    contract: rules.Contract
    paid_known: bool
    leave: rules.Leave
    effective: dt.date | None


def has_dates(cfg: ContractSettings) -> bool:
    return cfg.start is not None and cfg.end is not None


def resolve(cfg: ContractSettings, flags: ContractFlags = ContractFlags()) -> ResolvedContract:
    """Flags over config over the rules' defaults. Raises UsageError naming flag and key."""
    start = _date_value(flags.start, "--start", cfg.start, "start")
    end = _date_value(flags.end, "--end", cfg.end, "end")
    paid = rules.parse_money(flags.paid, "--paid") if flags.paid is not None else cfg.paid
    currency = (rules.parse_currency(flags.currency, "--currency")
                if flags.currency is not None else cfg.currency)
    fee = (rules.parse_fee(flags.fee, "--fee") if flags.fee is not None
           else rules.parse_fee(cfg.fee, "contract.fee") if cfg.fee is not None
           else rules.NO_FEE)  # parsed even when unused, so a typo never passes silently
    overrides = {name: value for name in _DAY_COUNTS
                 if (value := getattr(cfg, name)) is not None}
    leave, effective = _leave(cfg, flags)
    if paid is None:
        # Without an amount there is no refund to compute: dates only, and no fee to apply.
        contract = rules.Contract(start, end, Decimal(0), currency or rules.NO_CURRENCY,
                                  **overrides)
        return ResolvedContract(contract, False, leave, effective)
    if currency is None:
        raise UsageError("an amount paid needs its currency: pass --currency CODE "
                         "or set contract.currency in the config")
    return ResolvedContract(rules.Contract(start, end, paid, currency, fee, **overrides), True,
                            leave, effective)


def plan(resolved: ResolvedContract, today: dt.date) -> rules.ContractPlan:
    """The one plan every output reads. Raises UsageError (an effective day outside the term)."""
    return rules.plan(resolved.contract, today, leave=resolved.leave,
                      effective=resolved.effective, paid_known=resolved.paid_known)


def _leave(cfg: ContractSettings,
           flags: ContractFlags) -> tuple[rules.Leave, dt.date | None]:
    """``--leave`` over ``--effective`` (which means early) over ``contract.leave``."""
    if flags.leave is not None:
        leave = rules.parse_leave(flags.leave, "--leave")
    elif flags.effective is not None:
        leave = rules.Leave.EARLY
    else:
        leave = rules.parse_leave(cfg.leave, "contract.leave")
    if leave is rules.Leave.END_OF_TERM:
        if flags.effective is not None:
            raise UsageError("--effective is for an early termination; with --leave "
                             "end-of-term the contract ends on its end date")
        return leave, None
    if flags.effective is not None:
        return leave, rules.parse_date(flags.effective, "--effective")
    if cfg.effective is None:
        raise UsageError("an early termination needs its effective date: pass --effective "
                         "YYYY-MM-DD or set contract.effective in the config")
    return leave, cfg.effective


def _date_value(text: str | None, flag: str, configured: dt.date | None, key: str) -> dt.date:
    if text is not None:
        return rules.parse_date(text, flag)
    if configured is None:
        raise UsageError(f"no contract {key} date: pass {flag} YYYY-MM-DD "
                         f"or set contract.{key} in the config")
    return configured
