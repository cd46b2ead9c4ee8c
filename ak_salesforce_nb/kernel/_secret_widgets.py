"""Input widgets for secrets: what a frontend types is never sent back to the frontends.

ipywidgets 8 answers every change a frontend makes with an ``echo_update`` carrying the
new value, to every frontend on the kernel (a second tab, a collaborator, a tool such as
nbclient that records widget state and can save it into the notebook). For the Client
Secret and for a pasted sign-in address (it holds a single-use code) that echo would carry
the secret itself, so these fields declare ``echo_update=False``, as ipywidgets' own
``FileUpload`` does for file contents. The frontend that typed the value has it already.
"""

from __future__ import annotations

import ipywidgets as widgets
from traitlets import Unicode

__all__ = ["SecretPassword", "SecretText"]


class SecretPassword(widgets.Password):  # type: ignore[misc]
    """A password field whose value is never echoed to other frontends."""

    value = Unicode(help="The typed secret (never echoed).").tag(sync=True, echo_update=False)


class SecretText(widgets.Text):  # type: ignore[misc]
    """A text field for a value that holds a secret (a callback address with its code)."""

    value = Unicode(help="The typed value (never echoed).").tag(sync=True, echo_update=False)
