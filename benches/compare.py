"""ferrocan against python-can on vcan: ferrocan.bench (``ferrocan bench --help``)."""

from ferrocan.bench import main

raise SystemExit(main())
