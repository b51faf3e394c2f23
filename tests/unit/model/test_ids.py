import pytest

from callout.model.ids import new_id


def test_ids_carry_their_prefix_and_sort_by_time() -> None:
    first = new_id("wfr", now=1_700_000_000.0)
    later = new_id("wfr", now=1_700_000_001.0)
    assert first.startswith("wfr_")
    assert len(first) == len("wfr_") + 26
    assert first < later


def test_unknown_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown id prefix"):
        new_id("xyz")
