"""The local runtime: the whole API on a laptop (`make run`), and the helpers tests share with it."""

import sys


def say(line: str) -> None:
    """Print `line` and its newline in one write. The API's threads, the stream pollers, the sink and the
    functions' processes share this stdout: print's separate write of the newline let another line land
    between, two lines on one (and a test reading the output line by line missed both)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
