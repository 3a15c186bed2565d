"""Rules for text people type: what counts as nothing, and characters that reorder text.

Used by the services that store text (subjects, messages, names) and by the web layer's
edge check; plain functions on `str`, with no Flask in them.
"""

from __future__ import annotations

import unicodedata

# Bidirectional embedding, override and isolate controls (U+202A-202E, U+2066-2069): they
# make a subject or a name read differently from what it is ("Trojan source"). Removed
# from subjects and names; the Unicode bidi algorithm orders right-to-left text without them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_WITHOUT_BIDI = {ord(c): None for c in BIDI_CONTROLS}

# Categories of characters that show nothing: control, format (zero-width space and
# joiners, bidi marks, the byte order mark, soft hyphen) and separators.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
# Characters that show nothing although their category says letter, mark or symbol:
# Hangul fillers, the braille blank, the combining grapheme joiner, Khmer inherent vowels
# and the variation selectors.
BLANK_CHARACTERS = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)


def without_bidi_controls(text: str) -> str:
    """The text with the bidirectional override and isolate characters removed."""
    return text.translate(_WITHOUT_BIDI)


def is_invisible_character(char: str) -> bool:
    return (
        char.isspace()
        or unicodedata.category(char) in INVISIBLE_CATEGORIES
        or char in BLANK_CHARACTERS
    )


def is_blank(text: str) -> bool:
    """Whether the text shows nothing at all: empty, or only invisible characters."""
    return all(is_invisible_character(c) for c in text)


def is_control_character(char: str, *, allow_line_breaks: bool) -> bool:
    """C0 and C1 controls (and DEL), except tab, and CR/LF where line breaks belong."""
    if char == "\t" or (allow_line_breaks and char in "\r\n"):
        return False
    return unicodedata.category(char) == "Cc"


def has_control_characters(text: str, *, allow_line_breaks: bool) -> bool:
    return any(is_control_character(c, allow_line_breaks=allow_line_breaks) for c in text)
