"""The format reference, generated from the construct schemas registered in :mod:`xcformat.schema`.

:mod:`.model` turns a construct structure into rows of fields (offset, size, type, meaning),
:mod:`.diagram` draws its byte layout (text ruler and SVG), :mod:`.markdown` and :mod:`.rst` render
one format's reference page for spec/ and for the Sphinx site.
"""
