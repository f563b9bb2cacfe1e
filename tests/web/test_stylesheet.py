"""The stylesheet's blocks are balanced: an unclosed `@media` once swallowed every rule after
it, so the exception detail page was styled on phones only."""

from __future__ import annotations

from pathlib import Path

import ordergate.web

STYLESHEET = Path(ordergate.web.__file__).parent / "static" / "app.css"


def _without_comments(text: str) -> str:
    out, rest = [], text
    while "/*" in rest:
        before, _, after = rest.partition("/*")
        out.append(before)
        rest = after.partition("*/")[2]
    out.append(rest)
    return "".join(out)


def test_every_block_closes_and_no_media_query_nests_in_another() -> None:
    depth, media_open_at = 0, None
    for number, line in enumerate(_without_comments(STYLESHEET.read_text()).splitlines(), 1):
        if line.lstrip().startswith("@media"):
            assert depth == 0, f"app.css line {number}: @media inside an open block"
            media_open_at = number
        for char in line:
            depth += {"{": 1, "}": -1}.get(char, 0)
            assert depth >= 0, f"app.css line {number}: '}}' closes nothing"
    assert depth == 0, f"app.css: a block is left open (the last @media began on {media_open_at})"
