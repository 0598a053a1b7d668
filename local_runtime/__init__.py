"""The local runtime: the whole API on a laptop (`make run`), and the helpers tests share with it."""
