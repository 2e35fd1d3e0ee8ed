"""The live app's real-time core, free of Qt: capture -> processing -> paced output, wired in session.py.

Threads (see ../shared STYLE.md): the capture thread overwrites a one-item mailbox; one processing
thread owns MediaPipe and the engine; the output thread is paced at the output fps and repeats the
last frame; the UI only peeks at the newest preview.
"""
