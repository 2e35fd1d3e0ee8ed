"""Errors raised at the edges: each names the file and says what is wrong and what to do."""


class AppError(Exception):
    """A problem the user can act on; the CLI prints it without a traceback and exits non-zero."""
    exit_code = 2


class InputError(AppError):
    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ConsentError(AppError):
    exit_code = 3


class OutputError(AppError):
    exit_code = 4


def check_input_file(path, kind: str) -> str:
    """The checks every input file gets before decoding; `kind` is e.g. "an image file"."""
    import os
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(path, "file not found")
    if os.path.isdir(path):
        raise InputError(path, f"is a folder, expected {kind}")
    if not os.access(path, os.R_OK):
        raise InputError(path, "cannot be read (permission denied)")
    if os.path.getsize(path) == 0:
        raise InputError(path, "file is empty")
    return path
