"""What the Jupyter server and the notebook kernels share.

Both processes import this package and nothing of each other: the connection store (and
its secrets and locking), OAuth request building and parsing, input validation, the
environment contract through which the server tells its kernels where things are, the
constants and the exception tree. Nothing here imports tornado, jupyter_server, pandas
or ipywidgets.
"""

__all__: list[str] = []
