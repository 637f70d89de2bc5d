"""The shared HTTP layer: default query params, push-back signals, adaptive pool, polling."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from moai_adk.errors import ProviderError, RateLimitError
from moai_adk.providers._http import ApiClient, poll_until, run_concurrently

from .conftest import SleepRecorder


def test_default_params_go_on_every_request() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url.query, "ascii"))
        return httpx.Response(200, json={})

    api = ApiClient("https://x.test", label="X", transport=httpx.MockTransport(handler), params={"teamId": "team_1"})
    api.json("GET", "/a")
    api.json("GET", "/b", params={"limit": "5"})
    assert seen == ["teamId=team_1", "teamId=team_1&limit=5"]


@pytest.mark.parametrize("status", [429, 503])
def test_push_back_sets_throttled_and_is_retried(status: int) -> None:
    answers = [httpx.Response(status, headers={"Retry-After": "2"}), httpx.Response(200, json={"ok": True})]
    sleeps = SleepRecorder()
    api = ApiClient("https://x.test", label="X", transport=httpx.MockTransport(lambda r: answers.pop(0)), sleep=sleeps)
    assert api.json("GET", "/") == {"ok": True}
    assert api.throttled.is_set()
    assert sleeps.calls == [2.0]


def test_rate_limit_that_outlasts_retries() -> None:
    api = ApiClient("https://x.test", label="X", max_retries=2, sleep=SleepRecorder(),
                    transport=httpx.MockTransport(lambda r: httpx.Response(429, headers={"Retry-After": "1"})))
    with pytest.raises(RateLimitError):
        api.request("GET", "/")
    assert api.request_count == 3
    with pytest.raises(RateLimitError):
        api.request("PUT", "/upload", retries=5)  # a per-call budget (uploads are idempotent)
    assert api.request_count == 3 + 6


def test_push_back_shrinks_the_window_and_it_grows_back() -> None:
    throttled = threading.Event()
    lock = threading.Lock()
    in_flight = 0
    seen: dict[int, int] = {}

    def work(i: int) -> int:
        nonlocal in_flight
        with lock:
            in_flight += 1
            seen[i] = in_flight
        time.sleep(0.02)
        with lock:
            in_flight -= 1
        if i < 8:
            throttled.set()  # the first eight requests were answered 429
        return i

    out = run_concurrently(range(48), work, concurrency=8, throttled=throttled)
    assert sorted(out) == list(range(48))
    assert seen[8] <= 4  # the window shrank before the next request went out
    assert max(seen[i] for i in range(32, 48)) >= 6  # and grew back once the API stopped pushing back


def test_poll_until_grows_the_interval_and_times_out() -> None:
    sleeps = SleepRecorder()
    states = iter(["a", "b", "c", "done"])
    assert poll_until(lambda: next(states), lambda s: s == "done", what="x", interval=1, sleep=sleeps) == "done"
    assert sleeps.calls == [1, 1.5, 2.25]
    with pytest.raises(ProviderError) as err:
        poll_until(lambda: "never", lambda s: False, what="the thing", interval=1, max_interval=2, timeout=5,
                   sleep=SleepRecorder())
    assert "the thing" in err.value.message


@pytest.mark.parametrize(("min_window", "low", "high"), [(1, 1, 2), (4, 3, 5)])
def test_window_never_shrinks_below_min_window(min_window: int, low: int, high: int) -> None:
    throttled = threading.Event()
    lock = threading.Lock()
    in_flight = 0
    seen: list[int] = []

    def work(i: int) -> int:
        nonlocal in_flight
        with lock:
            in_flight += 1
            seen.append(in_flight)
        time.sleep(0.01)
        with lock:
            in_flight -= 1
        throttled.set()  # every answer pushes back
        return i

    run_concurrently(range(60), work, concurrency=8, throttled=throttled, min_window=min_window)
    late = seen[30:]
    assert low <= max(late) <= high
