"""The jupyter-server extension: runs in the Jupyter server process.

The `ExtensionApp`, its thin tornado handlers (OAuth start and callback, the REST API the
labextension uses), the authorization service behind them and the callback page. It
shares only `ak_salesforce_nb.core` (the store above all) with the kernels and never loads
pandas or widgets.
"""

__all__: list[str] = []
