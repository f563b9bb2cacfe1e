"""The dashboard's stylesheet as served: every block closes. An unclosed `@media` block would
nest every rule after it (CSS nesting), so desktop browsers would silently skip them."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def test_every_media_block_closes_before_the_next_rules(client: TestClient) -> None:
    response = client.get("/static/app.css")
    assert response.status_code == 200
    css = _COMMENT.sub("", response.text)
    depth = 0
    media_depths = []
    for match in re.finditer(r"@media|[{}]", css):
        token = match.group()
        if token == "@media":
            media_depths.append(depth)
        else:
            depth += 1 if token == "{" else -1
            assert depth >= 0, css[: match.end()][-200:]
    assert depth == 0
    assert media_depths, "the stylesheet has no @media block"
    assert set(media_depths) == {0}, "an @media block opens inside another block"
