"""``python -m ferrocan``: the ``ferrocan`` command."""

from ferrocan.cli import main

raise SystemExit(main())
