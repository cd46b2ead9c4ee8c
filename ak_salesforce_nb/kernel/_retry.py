"""Retries that respect Salesforce: one tenacity policy for every transient failure.

A failure is transient when trying again later can work and cannot do harm:

- the connection broke: never reached Salesforce (refused, connect timeout, no free
  connection), or broke after the request went out (reset, read timeout) — the second
  kind only for requests that are safe to repeat (`idempotent`): an insert that may
  already have happened is not sent twice;
- Salesforce answered 503 (or any 5xx, for a request safe to repeat);
- 403 ``REQUEST_LIMIT_EXCEEDED`` for a concurrency limit (the message names the limit;
  the daily allowance, ``TotalRequests``, will not come back within a retry);
- ``UNABLE_TO_LOCK_ROW``, for a whole request here and per row in `_write_*`.

Waits grow exponentially from `RetryPolicy.initial` to `RetryPolicy.maximum` with random
jitter (so parallel requests that failed together do not come back together), for at
most `RetryPolicy.attempts` tries. The same library polls Bulk API jobs (`poll`): wait,
ask again, until a state says done or the time is up.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from ..core._exceptions import SalesforceError
from ..core._tenacity import tenacity

__all__ = [
    "RETRYABLE_ROW_CODES",
    "RetryPolicy",
    "call_with_retries",
    "is_transient",
    "poll",
]

_T = TypeVar("_T")

#: Per-row error codes after which sending the same row again can work.
RETRYABLE_ROW_CODES = frozenset({"UNABLE_TO_LOCK_ROW"})

# Failures where the request never reached Salesforce: always safe to send again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to try again (see the module docstring)."""

    attempts: int = 5
    initial: float = 0.5
    maximum: float = 20.0
    #: The sleep function (tests pass a recorder, so they do not wait).
    sleep: Callable[[float], None] = time.sleep

    def wait(self) -> tenacity.wait.wait_base:
        """Exponential from `initial`, capped at `maximum`, plus up to half of `initial`
        of random jitter."""
        return tenacity.wait_exponential(
            multiplier=self.initial, max=self.maximum
        ) + tenacity.wait_random(0, self.initial / 2)

    def delay(self, attempt: int) -> float:
        """The wait after the `attempt`-th failure (1 for the first)."""
        state = tenacity.RetryCallState(tenacity.Retrying(), None, (), {})
        state.attempt_number = max(1, attempt)
        return float(self.wait()(state))


def _daily_limit(error: SalesforceError) -> bool:
    return "totalrequests" in error.message.lower().replace(" ", "")


def is_transient(error: BaseException, *, idempotent: bool = True) -> bool:
    """Whether `error` may go away if the same request is sent again later."""
    if isinstance(error, httpx.TransportError):
        return isinstance(error, _NOT_SENT) or idempotent
    if not isinstance(error, SalesforceError):
        return False
    if error.error_code == "REQUEST_LIMIT_EXCEEDED":
        return not _daily_limit(error)
    if error.error_code == "UNABLE_TO_LOCK_ROW":
        return True
    if error.status_code == 503:
        return True
    return idempotent and error.status_code >= 500


def call_with_retries(
    fn: Callable[[], _T],
    *,
    idempotent: bool = True,
    policy: RetryPolicy | None = None,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> _T:
    """`fn()`, sent again after a transient failure (see `is_transient`); the last
    failure is raised as it was once the attempts are used up."""
    policy = policy or RetryPolicy()

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None and state.next_action:
            error = state.outcome.exception()
            if error is not None:
                on_retry(error, state.next_action.sleep)

    retrying = tenacity.Retrying(
        sleep=policy.sleep,
        stop=tenacity.stop_after_attempt(max(1, policy.attempts)),
        wait=policy.wait(),
        retry=tenacity.retry_if_exception(lambda e: is_transient(e, idempotent=idempotent)),
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(fn)


def _proportional(
    first: float, maximum: float, share: float
) -> Callable[[tenacity.RetryCallState], float]:
    def wait(state: tenacity.RetryCallState) -> float:
        elapsed = state.seconds_since_start or 0.0
        return float(min(maximum, max(first, elapsed * share)))

    return wait


def poll(
    fetch: Callable[[], _T],
    done: Callable[[_T], bool],
    *,
    first: float,
    maximum: float,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    proportional: float | None = None,
) -> _T:
    """Call `fetch` until `done(answer)`, waiting `first` seconds, then 1.5 times longer
    each time (at most `maximum`); the last answer, done or not
    when `timeout` seconds have passed (the caller tells the two apart).

    With `proportional` (e.g. 0.2), each wait is instead that share of the time waited so
    far (from `first` to `maximum`): the answer is seen at most that share late, for few
    more polls than the exponential series makes."""
    first = max(first, 0.001)

    def last_answer(state: tenacity.RetryCallState) -> Any:
        assert state.outcome is not None
        return state.outcome.result()

    retrying = tenacity.Retrying(
        sleep=sleep,
        stop=tenacity.stop_after_delay(timeout),
        wait=_proportional(first, maximum, proportional)
        if proportional
        else tenacity.wait_exponential(multiplier=first, exp_base=1.5, max=maximum),
        retry=tenacity.retry_if_result(lambda answer: not done(answer)),
        retry_error_callback=last_answer,
        reraise=True,
    )
    result: _T = retrying(fetch)
    return result
