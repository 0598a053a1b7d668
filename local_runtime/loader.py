"""Import a function's handler module by its folder, as Lambda does, under a name of its own."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from local_runtime.events import ROOT

LambdaHandler = Callable[[dict[str, Any], Any], Any]


def load_module(code_uri: str, module: str = "app") -> ModuleType:
    """functions/<name>/app.py as module `functions.<name>.app` (every function's module is `app`).

    `code_uri` is relative to the repository, or absolute (a function a test writes in a temporary folder).
    """
    folder = (ROOT / code_uri).resolve()
    name = f"functions.{folder.name}.{module}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, folder / f"{module}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"no handler module in {folder}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    # As in Lambda, the function's folder is importable while its module loads (its own helper modules).
    sys.path.insert(0, str(folder))
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        del sys.modules[name]
        raise
    finally:
        sys.path.remove(str(folder))
    return loaded


def load_handler(code_uri: str, handler: str = "app.lambda_handler") -> LambdaHandler:
    module, _, attribute = handler.rpartition(".")
    function: LambdaHandler = getattr(load_module(code_uri, module), attribute)
    return function
