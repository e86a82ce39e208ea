"""``python -m made`` is the ``made`` command."""

from .cli import main

raise SystemExit(main())
