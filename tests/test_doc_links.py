"""The internal link checker the docs build runs after writing HTML."""

from xcformat.refdoc.links import broken_links


def test_finds_missing_pages_and_anchors_and_accepts_good_and_external_links(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="sub/page.html#there">ok</a> <a href="sub/page.html#nowhere">bad anchor</a>'
        '<a href="missing.html">bad page</a> <a href="https://example.org/x.html">external</a>'
        '<a href="#top">ok</a><h1 id="top">t</h1><img src="_images/a.svg">'
        '<a href="sub/">dir</a><a href="mailto:x@example.org">mail</a>')
    (tmp_path / "sub" / "page.html").write_text(
        '<section id="there"></section><a href="../index.html#top">back</a>')
    (tmp_path / "sub" / "index.html").write_text("<p>x</p>")
    assert sorted(broken_links(tmp_path)) == [
        "index.html: _images/a.svg -> no such file",
        "index.html: missing.html -> no such file",
        "index.html: sub/page.html#nowhere -> no anchor #nowhere",
    ]
