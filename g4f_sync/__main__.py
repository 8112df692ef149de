"""``python -m g4f_sync`` runs the command line (``g4f-sync``)."""

from .cli import main

raise SystemExit(main())
