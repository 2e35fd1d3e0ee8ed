#!/usr/bin/env python3
"""AvatarCam: animate a consenting person's photo set from your webcam, with consent and labels built in.

No arguments opens the desktop app; subcommands do headless work (see --help).
"""
import argparse
import importlib
import logging
import os
import signal
import sys

# Before torch loads OpenMP: idle worker threads sleep instead of spinning. The app runs capture,
# tracking, engine and output threads on few cores; spinning OpenMP barriers measured 10x slower
# engine frames under that contention (BENCHMARKS.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# numpy's OpenBLAS on one thread: its calls here are tiny (landmark fits), and after each one an idle
# OpenBLAS worker spins in sched_yield: 79 s of kernel time in a 113 s live run on 2 cores (strace),
# CPU the call app beside us needs. With one thread: 12 s.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# subcommand modules; each registers itself with add_parser(subparsers)
COMMANDS = ["animate", "bench", "evaluate", "verify", "consent", "doctor"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run.py", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"realtime.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"realtime.commands.{name}":
                continue          # not built yet in this checkout
            raise
        module.add_parser(sub)
    return parser


def main(argv=None) -> int:
    os.environ.setdefault("GLOG_minloglevel", "2")          # MediaPipe's C++ chatter
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args_list = sys.argv[1:] if argv is None else list(argv)
    if not {"-v", "--verbose"} & set(args_list):
        # OpenCV's own warnings and its FFmpeg's ("moov atom not found", "partial file", a camera
        # backend's probing errors) say in library terms what the app then says plainly; -v shows them
        os.environ.setdefault("OPENCV_LOG_LEVEL", "FATAL")
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    if not [a for a in args_list if a not in ("-v", "--verbose")]:
        # the desktop app: opens without importing every subcommand (and torch) first
        logging.basicConfig(level=logging.INFO if args_list else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
        from ui.app import main as app_main
        return app_main()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        from ui.app import main as app_main
        return app_main()
    from realtime.errors import AppError
    _stop_cleanly_on(signal.SIGTERM, getattr(signal, "SIGHUP", None))
    try:
        return args.func(args)
    except AppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Terminated as exc:
        print(f"stopped ({signal.Signals(exc.signum).name})", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


class Terminated(KeyboardInterrupt):
    """A kill or a closed terminal: unwinds like Ctrl-C, so outputs in progress are removed, not left
    half-written (the default action ends the process on the spot)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop_cleanly_on(*signals) -> None:
    def handler(signum, frame):
        raise Terminated(signum)
    for sig in signals:
        if sig is not None:
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
