import os

import pytest

from callout.model import ids
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


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    """The generator is reseeded in a forked child: the same state would repeat ids."""
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(writing, new_id("wfr", now=1_700_000_000.0).encode())
        os._exit(0)
    os.close(writing)
    mine = new_id("wfr", now=1_700_000_000.0)
    theirs = os.read(reading, 100).decode()
    os.waitpid(child, 0)
    os.close(reading)
    assert theirs.startswith("wfr_")
    assert theirs != mine


def test_ids_do_not_repeat() -> None:
    made = {new_id("att", now=1_700_000_000.0) for _ in range(10_000)}
    assert len(made) == 10_000


def _base32(number: int, length: int) -> str:
    """`number` in `length` of Crockford's base-32 digits, digit by digit."""
    digits = []
    for _ in range(length):
        number, digit = divmod(number, 32)
        digits.append(ids.ID_DIGITS[digit])
    return "".join(reversed(digits))


def test_an_id_is_its_milliseconds_then_its_random_bits_in_base32() -> None:
    for seed in range(2000):
        now = 1_700_000_000.0 + seed * 7.919
        ids._random.seed(seed)
        bits = ids._random.getrandbits(80)
        ids._random.seed(seed)
        made = new_id("att", now=now)
        assert made == "att_" + _base32(int(now * 1000), 10) + _base32(bits, 16)
    ids._random.seed(os.urandom(32))
