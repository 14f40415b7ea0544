"""A written image read back by this project's own reader before it is published.

``convert`` hands :func:`output_check` to :func:`~xcformat.io.open_sink`: once the writer is
done, the unpublished file is sniffed and read through as ``validate`` reads it, and any error
keeps it from appearing.  Page bytes came straight from the input and are trusted, so the
re-read skims them (:meth:`~xcformat.io.Source.page_data` seeks over them): it costs the
headers, records and indexes, not a second pass over the pages.
"""

from __future__ import annotations

from collections.abc import Callable

from . import formats
from .errors import FormatError, UnsupportedError, XcFormatError
from .io import IoMode, open_source


class OutputRejected(UnsupportedError):
    """The writer produced a file its own format's reader rejects: it is not published."""


def output_check(target: str, output: str, source: str, hints: Callable[[], formats.Hints],
                 io: IoMode | str) -> Callable[[str], None]:
    """A ``check`` for :func:`~xcformat.io.open_sink`: the file at the path it is given must
    read back as a valid ``target`` image (``output``, written from ``source``).  ``hints``
    gives what the bytes may not say (the writer knows the guest type and toolstack width of
    a legacy stream it wrote).  It reads with the conversion's ``io`` mode, so that a direct or
    uncached conversion does not fill the page cache with the output's headers."""

    def check(path: str) -> None:
        with open_source(path, io) as image:
            image.name = output
            image.skim = True
            try:
                fmt, _ = formats.detect(image)
                if fmt.name != target:
                    raise image.error(f"reads as {fmt.name}, not {target}", "magic", 0)
                reader = fmt.reader(image, hints())
                for _ in reader.records():
                    pass
            except FormatError as exc:
                raise _rejected(source, output, target, str(FormatError(
                    exc.message, offset=exc.offset, field=exc.field))) from None
            except XcFormatError as exc:
                raise _rejected(source, output, target, str(exc)) from None
            errors = [f for f in reader.findings if f.level == "error"]
            if errors:
                raise _rejected(source, output, target, errors[0].describe())

    return check


def confirmed_first(confirm: Callable[[], None], check: Callable[[str], None]
                    ) -> Callable[[str], None]:
    """``check``, after ``confirm`` (which may raise to keep the file from appearing): what
    wrote the input has to approve of it too, as xl's exit status approves of a save."""

    def confirm_then_check(path: str) -> None:
        confirm()
        check(path)

    return confirm_then_check


def _rejected(source: str, output: str, target: str, why: str) -> OutputRejected:
    return OutputRejected(f"{source}: {output} not written: the {target} image would fail "
                          f"xcformat's own check ({why}); this is a bug in its {target} "
                          "writer, please report it with the input")
