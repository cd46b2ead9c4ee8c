"""``python -m ak_salesforce_nb COMMAND …``: the package's command line (see `cli`)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
