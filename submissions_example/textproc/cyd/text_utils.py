"""Small helpers for my text processing sheet (Cyd)."""

import string

LETTERS_AND_DIGITS = set(string.ascii_lowercase + string.digits)


def split_tokens(text):
    """Walk over the lower-cased text and cut it wherever a character is not a letter or digit."""
    tokens, current = [], ""
    for ch in text.lower():
        if ch in LETTERS_AND_DIGITS:
            current += ch
        elif current:
            tokens.append(current)
            current = ""
    if current:
        tokens.append(current)
    return tokens


def count(items):
    counts = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts
