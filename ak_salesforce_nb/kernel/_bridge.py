"""The Authorize button that the JupyterLab extension renders (progressive enhancement).

With the labextension, a click opens the popup in the same gesture, the callback page's
message reaches the kernel at once, and the page's own callback URL comes back to show.
Nothing secret is synced: `start_url` carries only the single-use state, and is cleared
when the authorization ends.
"""

from __future__ import annotations

import ipywidgets as widgets
from traitlets import Bool, List, Unicode

from .._version import __version__

__all__ = ["FRONTEND_MODULE", "AuthorizeBridge"]

FRONTEND_MODULE = "ak-salesforce-nb"


class AuthorizeBridge(widgets.DOMWidget):  # type: ignore[misc]
    _model_name = Unicode("AuthorizeBridgeModel").tag(sync=True)
    _view_name = Unicode("AuthorizeBridgeView").tag(sync=True)
    _model_module = Unicode(FRONTEND_MODULE).tag(sync=True)
    _view_module = Unicode(FRONTEND_MODULE).tag(sync=True)
    _model_module_version = Unicode(f"^{__version__}").tag(sync=True)
    _view_module_version = Unicode(f"^{__version__}").tag(sync=True)

    connection_name = Unicode("").tag(sync=True)
    start_url = Unicode("").tag(sync=True)
    description = Unicode("Authorize").tag(sync=True)
    disabled = Bool(False).tag(sync=True)
    button_style = Unicode("primary").tag(sync=True)
    #: Set by the view: the callback URL(s) computed from the page's origin and base URL.
    page_callback_urls = List(Unicode()).tag(sync=True)
