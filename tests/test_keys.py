import math

from hypothesis import given
from hypothesis import strategies as st

from relaydesk.infra.auth import keys


def test_generated_keys_are_well_formed_and_unique() -> None:
    generated = {keys.generate().plaintext for _ in range(200)}
    assert len(generated) == 200
    for key in generated:
        assert key.startswith("rd_")
        assert len(key) == keys.KEY_LENGTH
        assert keys.is_well_formed(key)


def test_secret_part_has_at_least_160_bits_beyond_the_visible_prefix() -> None:
    hidden_chars = keys.RANDOM_LENGTH - (keys.VISIBLE_LENGTH - len(keys.KEY_PREFIX))
    assert hidden_chars * math.log2(62) >= 160


def test_prefix_and_digest() -> None:
    new = keys.generate()
    assert new.plaintext.startswith(new.prefix)
    assert len(new.prefix) == keys.VISIBLE_LENGTH
    assert new.digest == keys.digest(new.plaintext)
    assert len(new.digest) == 64
    assert new.plaintext not in new.digest


@given(
    body=st.text(alphabet=keys.ALPHABET, min_size=keys.RANDOM_LENGTH, max_size=keys.RANDOM_LENGTH),
    data=st.data(),
)
def test_any_single_character_typo_is_rejected_without_a_lookup(
    body: str, data: st.DataObject
) -> None:
    key = keys.KEY_PREFIX + body + keys.checksum(body)
    assert keys.is_well_formed(key)
    position = data.draw(st.integers(min_value=len(keys.KEY_PREFIX), max_value=len(key) - 1))
    replacement = data.draw(st.sampled_from(keys.ALPHABET).filter(lambda c: c != key[position]))
    typo = key[:position] + replacement + key[position + 1 :]
    assert not keys.is_well_formed(typo)


@given(st.text(max_size=80))
def test_arbitrary_text_is_not_a_key(text: str) -> None:
    # a random string passing the CRC is astronomically unlikely; shape checks must not crash
    assert keys.is_well_formed(text) is False


def test_swapped_neighbours_and_truncation_are_rejected() -> None:
    key = keys.generate().plaintext
    body = list(key)
    i = len(keys.KEY_PREFIX) + 3
    if body[i] == body[i + 1]:
        body[i + 1] = "0" if body[i] != "0" else "1"
    body[i], body[i + 1] = body[i + 1], body[i]
    assert not keys.is_well_formed("".join(body))
    assert not keys.is_well_formed(key[:-1])
    assert not keys.is_well_formed(key + "A")
    assert not keys.is_well_formed("xx" + key[2:])
