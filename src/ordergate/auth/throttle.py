"""Login throttling: failed attempts counted per account and per client address in moving
windows (the `limits` library); over any limit, every attempt is refused until the window
moves, whether the password is right or not and whether the account exists or not."""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ordergate.auth.errors import TooManyLoginAttemptsError
from ordergate.config import ConfigError, Settings


class LoginThrottle:
    def __init__(self, *, storage_uri: str, per_account: str, per_address: str) -> None:
        self._storage = storage_from_string(storage_uri)
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._per_account = parse_many(per_account)
        self._per_address = parse_many(per_address)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        try:
            return cls(
                storage_uri=settings.login_throttle_storage_uri,
                per_account=settings.login_limits_per_account,
                per_address=settings.login_limits_per_address,
            )
        except ValueError as exc:
            raise ConfigError(f"login throttle settings: {exc}") from exc

    def check(self, *, account: str, address: str) -> None:
        """Raise TooManyLoginAttemptsError while the account or the address is over a limit."""
        waits = [self._wait(limit, "account", account) for limit in self._per_account]
        waits += [self._wait(limit, "address", address) for limit in self._per_address]
        if max(waits) > 0:
            raise TooManyLoginAttemptsError(max(waits))

    def record_failure(self, *, account: str, address: str) -> None:
        for limit in self._per_account:
            self._limiter.hit(limit, "account", _key(account))
        for limit in self._per_address:
            self._limiter.hit(limit, "address", _key(address))

    def record_success(self, *, account: str) -> None:
        """Forget the account's failures; the address keeps its own (one good password must not
        buy an attacker more guesses at other accounts)."""
        for limit in self._per_account:
            self._limiter.clear(limit, "account", _key(account))

    def reset(self) -> None:
        self._storage.reset()

    def _wait(self, limit: RateLimitItem, kind: str, value: str) -> int:
        if self._limiter.test(limit, kind, _key(value)):
            return 0
        reset_at = self._limiter.get_window_stats(limit, kind, _key(value)).reset_time
        return max(1, math.ceil(reset_at - time.time()))


def _key(value: str) -> str:
    # Counters are keyed by a digest: a shared store (redis) never holds emails or addresses.
    return hashlib.sha256(value.encode()).hexdigest()[:32]
