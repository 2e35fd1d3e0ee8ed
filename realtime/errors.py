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
