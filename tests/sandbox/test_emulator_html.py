"""Unit tests of the Telegram HTML parser (fast, no server)."""

from __future__ import annotations

import pytest

from sandbox.html import HtmlParseError, parse_html, render_html


def test_basic_tags_and_utf16_offsets() -> None:
    text, entities = parse_html("😀 <b>жирный</b> <i>x</i>")
    assert text == "😀 жирный x"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 6},
        {"type": "italic", "offset": 10, "length": 1},
    ]


def test_escapes_and_unknown_named_entity_is_literal() -> None:
    text, _ = parse_html("&lt;a&gt; &amp; &quot; &#65;&#x42; &nbsp;")
    assert text == '<a> & " AB &nbsp;'


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("Hello <foo>x</foo>", 'Unsupported start tag "foo" at byte offset 6'),
        ("<b>never closed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("Привет <bad>", 'Unsupported start tag "bad" at byte offset 13'),
        ('<span class="x">a</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_errors(source: str, error: str) -> None:
    with pytest.raises(HtmlParseError) as info:
        parse_html(source)
    assert str(info.value) == error


def test_links_pre_code_blockquote_roundtrip() -> None:
    source = (
        '<a href="https://example.org/?a=1&amp;b=2">site</a> <pre><code class="language-python">x = 1</code></pre>'
        " <blockquote expandable>q</blockquote> <tg-spoiler>s</tg-spoiler> <code>c</code>"
    )
    text, entities = parse_html(source)
    assert text == "site x = 1 q s c"
    kinds = [e["type"] for e in entities]
    assert kinds == ["text_link", "pre", "expandable_blockquote", "spoiler", "code"]
    assert entities[0]["url"] == "https://example.org/?a=1&b=2"
    assert entities[1]["language"] == "python"
    assert render_html(text, entities) == (
        '<a href="https://example.org/?a=1&amp;b=2">site</a> <pre><code class="language-python">x = 1</code></pre>'
        " <blockquote expandable>q</blockquote> <tg-spoiler>s</tg-spoiler> <code>c</code>"
    )


def test_render_escapes_plain_text() -> None:
    assert render_html("a < b & c", []) == "a &lt; b &amp; c"
