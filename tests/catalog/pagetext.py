"""Read rendered HTML the way a visitor reads it: text only, plain spaces."""

import html
import re

SPACES = re.compile(r"[\s\u00a0\u202f]+")
TAG = re.compile(r"<[^>]+>")


def text(fragment: str) -> str:
    """Visible text of an HTML fragment; Django's non-breaking spaces become plain spaces."""
    return SPACES.sub(" ", html.unescape(TAG.sub(" ", fragment))).strip()


def content(response) -> str:
    return response.content.decode()


def block(page: str, pattern: str) -> str:
    """The HTML of the first element matching `pattern` (an opening tag regex) up to its close."""
    match = re.search(pattern, page)
    assert match is not None, f"no element matches {pattern!r}"
    tag = re.match(r"<(\w+)", match.group(0)).group(1)
    depth, index = 0, match.start()
    for token in re.finditer(rf"<(/?){tag}\b[^>]*>", page[match.start() :]):
        depth += -1 if token.group(1) else 1
        if depth == 0:
            return page[index : match.start() + token.end()]
    raise AssertionError(f"unclosed element {pattern!r}")


def row_cells(page: str, slug: str, table_index: int = 0) -> list[str]:
    """Cells (header cell first) of the model's row: the HTML of each <th>/<td>."""
    rows = re.findall(rf'<tr data-model="{re.escape(slug)}">(.*?)</tr>', page, re.S)
    assert rows, f"no row for {slug}"
    return re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", rows[table_index], re.S)


def price_now(cell: str) -> str:
    """Today's price in a price cell."""
    match = re.search(r'<span class="price-now">(.*?)</span>', cell, re.S)
    assert match is not None, cell
    return text(match.group(1))


def announced(cell: str) -> list[str]:
    """The announced prices of a price cell, as read: « Annoncé à partir du … : 300 DZD »."""
    return [text(part) for part in cell.split('<span class="price-next">')[1:]]
