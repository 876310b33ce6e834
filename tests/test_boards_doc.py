"""docs/boards.md is what `needlepen boards --markdown` makes of boards/."""

from host_tools.boards_cmd import markdown

from tools import ROOT


def test_boards_doc_is_current() -> None:
    doc = (ROOT / "docs" / "boards.md").read_text()
    assert doc == markdown(), "docs/boards.md is stale: run  needlepen boards --markdown > docs/boards.md"
