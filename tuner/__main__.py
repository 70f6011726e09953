"""``python -m tuner``: the same command line as the ``tuner`` script."""

from tuner.cli import main

raise SystemExit(main())
