"""The redaction filter on a real text stream: values split across writes, escaped, multi-line."""

from __future__ import annotations

import io
import json

from moai_adk.secrets.redact import MASK, RedactingStream, Redactor


def stream(*values: str) -> tuple[RedactingStream, io.StringIO]:
    redactor = Redactor()
    redactor.add(values)
    inner = io.StringIO()
    return RedactingStream(inner, redactor), inner


def test_a_value_written_in_pieces_is_caught_at_flush() -> None:
    out, inner = stream("sk_live_abcdef123456")
    out.write("token: sk_live_ab")
    out.write("cdef123456 end\n")
    assert inner.getvalue() == ""  # nothing passes before the flush
    out.flush()
    assert inner.getvalue() == f"token: {MASK} end\n"


def test_json_and_repr_forms_and_each_line_of_a_multiline_value() -> None:
    pem = "-----BEGIN KEY-----\nAAAABBBBCCCCDDDD\n-----END KEY-----"
    quoted = 'pa"ss\\word-1'
    out, inner = stream(pem, quoted)
    out.write(json.dumps({"a": pem, "b": quoted}) + "\n" + repr(quoted) + "\n" + "line AAAABBBBCCCCDDDD\n")
    out.flush()
    text = inner.getvalue()
    assert "AAAABBBBCCCCDDDD" not in text and "ss\\\\word" not in text and 'pa\\"ss' not in text
    assert text.count(MASK) == 4


def test_reveal_bypasses_the_filter_and_other_text_is_untouched() -> None:
    out, inner = stream("hunter2-long")
    out.write("keep me: hunter2-long\n")
    out.write_unredacted("hunter2-long\n")
    assert inner.getvalue() == f"keep me: {MASK}\nhunter2-long\n"
