from callout.engine.retry import RetrySchedule


def test_one_retry_per_interval_then_none() -> None:
    schedule = RetrySchedule((5, 60))
    assert schedule.wait_before_retry(1) == 5
    assert schedule.wait_before_retry(2) == 60
    assert schedule.wait_before_retry(3) is None


def test_retry_waits_for_retry_after_when_longer_than_interval() -> None:
    assert RetrySchedule((1,)).wait_before_retry(1, retry_after=3) == 3


def test_retry_after_shorter_than_interval_does_not_shorten_it() -> None:
    assert RetrySchedule((10,)).wait_before_retry(1, retry_after=2) == 10


def test_retry_after_is_capped() -> None:
    assert RetrySchedule((1,), retry_after_cap=3600).wait_before_retry(1, retry_after=86400) == 3600


def test_retry_after_is_ignored_when_no_interval_remains() -> None:
    assert RetrySchedule(()).wait_before_retry(1, retry_after=5) is None
