"""What counts as a word everywhere (counts, fertility, shingles, vocabulary, term tables), and the function
words no term list shows."""

from __future__ import annotations

import re

# Letters/digits/underscore runs, keeping inner apostrophes and hyphens: "don't", "beta-blocker".
WORD_RE = re.compile(r"\w+(?:['’-]\w+)*")


def words(text: str) -> list[str]:
    return WORD_RE.findall(text)


def lower_words(text: str) -> list[str]:
    return WORD_RE.findall(text.lower())


# Function words are frequent everywhere; listing them as "domain terms" would only hide the real ones.
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers him his
how i if in into is it its itself just may me might more most must my no nor not now of off on once only or other our
ours out over own same she should so some such than that the their theirs them then there these they this those through
to too under until up very was we were what when where which while who whom why will with would you your yours
also although among around however though upon us via whether within without yet still even per ago one two three
four five six seven eight nine ten first second third many much every another either neither
""".split())
