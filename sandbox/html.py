"""Telegram-compatible HTML parse_mode: text -> (plain text, entities) and back.

The parser follows tdlib's ``parse_html`` (the code behind the real Bot API) closely, so the
bot gets the same 400 errors, with the same byte offsets, that Telegram would return.
"""

from __future__ import annotations

import html as _html
import re
from typing import Any

__all__ = ["HtmlParseError", "parse_html", "render_html", "strip_text", "utf16_len"]

_SUPPORTED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
        "tg-spoiler", "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_SPACE = b" \t\r\n\x0b\x0c"
_SPECIAL = re.compile(rb"[&<]")
_NAMED = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}


class HtmlParseError(ValueError):
    """Raised with tdlib's message, e.g. ``Unsupported start tag "foo" at byte offset 12``."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: Telegram measures entity offsets in them."""
    n = len(text)
    if text.isascii():
        return n
    return n + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _decode_entity(data: bytes, i: int) -> tuple[str, int] | None:
    """Decode ``&...;`` at ``data[i]``; None means "keep the & literally" (as tdlib does)."""
    end = data.find(b";", i + 1, i + 12)
    if end == -1:
        return None
    body = data[i + 1 : end]
    if body in _NAMED:
        return _NAMED[body], end + 1
    if body.startswith(b"#"):
        num = body[1:]
        try:
            if num[:1] in (b"x", b"X"):
                code = int(num[1:], 16) if re.fullmatch(rb"[0-9a-fA-F]{1,6}", num[1:]) else -1
            else:
                code = int(num) if re.fullmatch(rb"[0-9]{1,7}", num) else -1
        except ValueError:
            return None
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code), end + 1
    return None


def _check_link(url: str) -> str | None:
    """Normalise an href the way Telegram does closely enough; None drops the entity."""
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return None
    if "://" not in url and not url.startswith(("tg:", "mailto:")):
        url = "http://" + url
    return url


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML; return plain text and entities with UTF-16 offsets."""
    data = source.encode("utf-8")
    size = len(data)
    out: list[str] = []
    offset = 0  # utf-16 units emitted so far
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, str, int, int, bool]] = []  # tag, argument, utf16 offset, out index, expandable

    def at(k: int) -> int:
        return data[k] if k < size else 0

    def emit(chunk: str) -> None:
        nonlocal offset
        if chunk:
            out.append(chunk)
            offset += utf16_len(chunk)

    i = 0
    while i < size:
        m = _SPECIAL.search(data, i)
        if m is None:
            emit(data[i:].decode("utf-8"))
            break
        j = m.start()
        if j > i:
            emit(data[i:j].decode("utf-8"))
        i = j
        if data[i] == 0x26:  # '&'
            decoded = _decode_entity(data, i)
            if decoded is None:
                emit("&")
                i += 1
            else:
                emit(decoded[0])
                i = decoded[1]
            continue
        begin = i
        i += 1
        if at(i) != 0x2F:  # start tag
            while at(i) and at(i) not in _SPACE and at(i) != 0x3E:
                i += 1
            if at(i) == 0:
                raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
            tag = data[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in _SUPPORTED_TAGS:
                raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            expandable = False
            while at(i) != 0x3E:
                while at(i) and at(i) in _SPACE:
                    i += 1
                if at(i) == 0x3E:
                    break
                if at(i) == 0:
                    raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                attr_begin = i
                while at(i) and at(i) not in _SPACE and at(i) not in (0x3D, 0x3E):
                    i += 1
                attr = data[attr_begin:i].decode("utf-8", "replace")
                if not attr:
                    raise HtmlParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
                while at(i) and at(i) in _SPACE:
                    i += 1
                if at(i) != 0x3D:
                    if at(i) == 0:
                        raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                    if tag == "blockquote" and attr == "expandable":
                        expandable = True
                    continue
                i += 1
                while at(i) and at(i) in _SPACE:
                    i += 1
                if at(i) == 0:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
                if at(i) not in (0x22, 0x27):
                    token_begin = i
                    while at(i) and ((chr(at(i)).isalnum() and at(i) < 0x80) or at(i) in (0x2E, 0x2D)):
                        i += 1
                    value = data[token_begin:i].decode("utf-8", "replace").lower()
                    if at(i) not in _SPACE and at(i) != 0x3E:
                        raise HtmlParseError(f"Unexpected end of name token at byte offset {token_begin}")
                else:
                    quote = at(i)
                    i += 1
                    parts: list[str] = []
                    while at(i) and at(i) != quote:
                        if at(i) == 0x26:
                            decoded = _decode_entity(data, i)
                            if decoded is not None:
                                parts.append(decoded[0])
                                i = decoded[1]
                                continue
                        k = i + 1
                        while k < size and data[k] not in (quote, 0x26):
                            k += 1
                        parts.append(data[i:k].decode("utf-8", "replace"))
                        i = k
                    if at(i) == quote:
                        i += 1
                    value = "".join(parts)
                if at(i) == 0:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
                if tag == "a" and attr == "href":
                    argument = value
                elif tag == "code" and attr == "class" and value.startswith("language-"):
                    argument = value[9:]
                elif tag == "span" and attr == "class" and value.startswith("tg-"):
                    argument = value[3:]
                elif tag == "tg-emoji" and attr == "emoji-id":
                    argument = value
                elif tag == "blockquote" and attr == "expandable":
                    expandable = True
            if tag == "span" and argument != "spoiler":
                raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
            stack.append((tag, argument, offset, len(out), expandable))
            i += 1  # skip '>'
            continue
        # end tag
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {begin}")
        while at(i) and at(i) not in _SPACE and at(i) != 0x3E:
            i += 1
        end_tag = data[begin + 2 : i].decode("utf-8", "replace")
        while at(i) and at(i) in _SPACE:
            i += 1
        if at(i) != 0x3E:
            raise HtmlParseError(f"Unclosed end tag at byte offset {begin}")
        i += 1
        tag, argument, start, out_index, expandable = stack.pop()
        if end_tag and end_tag != tag:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", found "</{end_tag}>"'
            )
        length = offset - start
        if length <= 0:
            continue
        if tag in _SIMPLE_TYPES:
            entities.append({"type": _SIMPLE_TYPES[tag], "offset": start, "length": length})
        elif tag == "a":
            url = argument or "".join(out[out_index:])
            mention = re.fullmatch(r"tg://user\?id=(\d+)", url.strip())
            if mention:
                entities.append(
                    {
                        "type": "text_mention",
                        "offset": start,
                        "length": length,
                        "user": {"id": int(mention.group(1)), "is_bot": False, "first_name": ""},
                    }
                )
            elif (checked := _check_link(url)) is not None:
                entities.append({"type": "text_link", "offset": start, "length": length, "url": checked})
        elif tag == "pre":
            last = entities[-1] if entities else None
            if (
                last is not None
                and last["type"] == "code"
                and last["offset"] == start
                and last["length"] == length
                and last.get("language")
            ):
                last["type"] = "pre"
            else:
                entities.append({"type": "pre", "offset": start, "length": length})
        elif tag == "code":
            last = entities[-1] if entities else None
            if (
                last is not None
                and last["type"] == "pre"
                and last["offset"] == start
                and last["length"] == length
                and argument
            ):
                last["language"] = argument
            else:
                entity: dict[str, Any] = {"type": "code", "offset": start, "length": length}
                if argument:
                    entity["language"] = argument
                entities.append(entity)
        elif tag == "tg-emoji":
            if argument.isdigit():
                entities.append(
                    {"type": "custom_emoji", "offset": start, "length": length, "custom_emoji_id": argument}
                )
        elif tag == "blockquote":
            kind = "expandable_blockquote" if expandable else "blockquote"
            entities.append({"type": kind, "offset": start, "length": length})
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)  # a lone <code> has no language
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def strip_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace like Telegram, shifting/clipping entities to match."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    if not stripped:
        return "", []
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    fixed: list[dict[str, Any]] = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return stripped, fixed


def _tags(entity: dict[str, Any]) -> tuple[str, str]:
    """Opening and closing HTML for one entity (types without markup render as nothing)."""
    kind = entity.get("type")
    simple = {
        "bold": "b",
        "italic": "i",
        "underline": "u",
        "strikethrough": "s",
        "spoiler": "tg-spoiler",
        "code": "code",
        "blockquote": "blockquote",
    }
    if kind in simple:
        tag = simple[kind]
        return f"<{tag}>", f"</{tag}>"
    if kind == "expandable_blockquote":
        return "<blockquote expandable>", "</blockquote>"
    if kind == "pre":
        if entity.get("language"):
            lang = _html.escape(str(entity["language"]), quote=True)
            return f'<pre><code class="language-{lang}">', "</code></pre>"
        return "<pre>", "</pre>"
    if kind == "text_link":
        return f'<a href="{_html.escape(str(entity.get("url", "")), quote=True)}">', "</a>"
    if kind == "text_mention":
        return f'<a href="tg://user?id={entity.get("user", {}).get("id")}">', "</a>"
    if kind == "custom_emoji":
        return f'<tg-emoji emoji-id="{entity.get("custom_emoji_id")}">', "</tg-emoji>"
    return "", ""


def render_html(text: str, entities: list[dict[str, Any]] | None) -> str:
    """Re-render plain text + entities as canonical Telegram HTML (for tests to assert on)."""
    if not entities:
        return _html.escape(text, quote=False)
    units = text.encode("utf-16-le")
    opens: dict[int, list[tuple[int, str]]] = {}
    closes: dict[int, list[tuple[int, str]]] = {}
    ordered = sorted(entities, key=lambda e: (e["offset"], -e["length"]))
    for index, entity in enumerate(ordered):
        open_tag, close_tag = _tags(entity)
        if not open_tag:
            continue
        start, end = entity["offset"], entity["offset"] + entity["length"]
        opens.setdefault(start, []).append((index, open_tag))
        closes.setdefault(end, []).append((index, close_tag))
    points = sorted({0, len(units) // 2, *opens, *closes})
    parts: list[str] = []
    prev = 0
    for point in points:
        if point > prev:
            chunk = units[prev * 2 : point * 2].decode("utf-16-le", "replace")
            parts.append(_html.escape(chunk, quote=False))
            prev = point
        for _, tag in sorted(closes.get(point, []), key=lambda t: -t[0]):
            parts.append(tag)
        for _, tag in opens.get(point, []):
            parts.append(tag)
    return "".join(parts)
