"""`python -m ak_salesforce_nb.demo`; see the package's docstring and `--help`."""

from __future__ import annotations

from ._cli import main

__all__: list[str] = []

if __name__ == "__main__":
    main()
