"""What runs in a notebook kernel: the REST client and the notebook UI.

The sessions (query to DataFrames, describe, records, Bulk API 2.0, token refresh) and
the widgets and magics (connect form, explorer, `%%soql`). It shares only
`ak_salesforce_nb.core` with the server and never loads tornado or jupyter_server, so it
works in any kernel: JupyterLab, VS Code, Colab or a plain Python process.
"""

__all__: list[str] = []
