"""Usernames as people read them: one account per name, whatever its case, width or script.

``username_fold`` is the name as compared (NFKC, case-folded): fullwidth ``ALICE`` and
``alice`` fold alike, and a login may type either. ``username_skeleton`` goes further,
after UTS #39: each character replaced by the prototype of its confusable class
(Unicode's confusables.txt, as packaged by confusable_homoglyphs, the data
django-registration uses), combining marks dropped, so that ``alice`` with a Cyrillic a
(U+0430), ``ALICE`` with a dotted I (U+0130) and ``a1ice`` share ``alice``'s skeleton.
Registration refuses a name whose skeleton is taken; a unique column holds the skeletons
(chat.models.UsernameKey), so the check is an index lookup, not a scan of every user.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from confusable_homoglyphs.confusables import confusables_data

__all__ = ["text_storable", "username_fold", "username_normalise", "username_skeleton"]

# The data wraps right-to-left characters in these marks for display.
_DISPLAY_MARKS = str.maketrans("", "", "\u200e\u200f")


def text_storable(text: str) -> bool:
    """False for text that cannot be encoded (a lone surrogate, which JSON's ``\\ud800``
    escape can carry) and so can be neither stored nor hashed."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def username_normalise(username: str) -> str:
    """The name as stored: NFKC, so compatibility variants (fullwidth, ligatures) become
    the plain characters they stand for; case is kept as typed."""
    return unicodedata.normalize("NFKC", username)


def username_fold(username: str) -> str:
    """The name as compared: NFKC, case-folded, NFKC again (folding can denormalise)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


@lru_cache(maxsize=1)
def _prototypes() -> tuple[dict[str, str], dict[str, str]]:
    """(character -> one representative of its confusable class, character -> the
    several characters it looks like, e.g. ``m`` -> ``rn``)."""
    parent: dict[str, str] = {}

    def find(char: str) -> str:
        parent.setdefault(char, char)
        while parent[char] != char:
            parent[char] = parent[parent[char]]
            char = parent[char]
        return char

    sequences: dict[str, str] = {}
    for char, entries in confusables_data.items():
        targets = [entry["c"].translate(_DISPLAY_MARKS) for entry in entries]
        if len(char) != 1:
            continue
        if len(targets) == 1 and len(targets[0]) > 1:
            sequences[char] = targets[0]
            continue
        for target in targets:
            if len(target) == 1:
                # The class's representative is its smallest code point: any fixed
                # choice gives equal skeletons for look-alikes.
                first, second = find(char), find(target)
                if first != second:
                    low, high = sorted((first, second))
                    parent[high] = low
    return {char: find(char) for char in parent}, sequences


def username_skeleton(username: str) -> str:
    """The look-alike key of a name: equal for names a reader could take for each other."""
    single, sequences = _prototypes()
    decomposed = unicodedata.normalize("NFD", username_fold(username))
    mapped = "".join(sequences.get(char) or single.get(char, char) for char in decomposed)
    # Folded again: the prototype of a lower-case letter may be an upper-case one.
    refolded = unicodedata.normalize("NFD", "".join(single.get(c, c) for c in mapped.casefold()))
    return "".join(char for char in refolded if not unicodedata.combining(char))
