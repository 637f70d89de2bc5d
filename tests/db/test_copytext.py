"""The COPY text format codec and the row transformer (no server needed)."""

from __future__ import annotations

from moai_adk.db.copytext import RowTransformer, decode, encode, join_row, split_row


def test_decode_every_escape() -> None:
    assert decode(b"\\N") is None
    assert decode(b"a\\tb\\nc\\rd\\\\e\\bf\\fg\\vh") == b"a\tb\nc\rd\\e\x08f\x0cg\x0bh"
    assert decode(b"\\101\\x42\\7\\q") == b"AB\x07q"  # octal, hex, short octal, any other char
    assert decode(b"\\\\N") == b"\\N"  # the text \N, not NULL
    assert decode(b"plain") == b"plain"


def test_encode_round_trips() -> None:
    for value in (b"", b"\\N", b"tab\there", b"new\nline\r", b"back\\slash", b"\x08\x0c\x0b", "é ✓".encode()):
        assert decode(encode(value)) == value
    assert encode(None) == b"\\N"
    assert split_row(join_row([b"a\tb", None, b"\\"])) == [b"a\tb", None, b"\\"]


def test_transformer_rewrites_only_its_columns() -> None:
    upper = {1: lambda v: None if v is None else v.upper()}
    tr = RowTransformer(upper)
    rows = [b"1\tab\\tc\tz\n", b"2\t\\N\tz\n", b"3\tx\n"]
    assert tr.chunk(rows) == b"1\tAB\\tC\tz\n2\t\\N\tz\n3\tX\n"
    both = RowTransformer({0: lambda v: b"#", 2: lambda v: None})
    assert both.chunk([b"1\ta\tb\n", b"2\tc\n"]) == b"#\ta\t\\N\n#\tc\n"
    assert both.count == 2
    assert RowTransformer({}).chunk([memoryview(b"a\tb\n"), b"c\td\n"]) == b"a\tb\nc\td\n"


def test_cache_is_dropped_for_distinct_values() -> None:
    calls: list[bytes | None] = []

    def fn(v: bytes | None) -> bytes | None:
        calls.append(v)
        return v
    tr = RowTransformer({0: fn})
    tr.chunk([b"same\n"] * 20000)
    assert len(calls) == 1 and tr.misses[0] == 1
    distinct = RowTransformer({0: fn})
    distinct.chunk([b"%d\n" % i for i in range(20000)])
    assert distinct.misses[0] == -1 and distinct.caches[0] == {}
