"""``python -m videomock``: the ``videomock`` command."""

from videomock.cli import main

main()
