"""Where labelled frames go: the virtual camera, a local MJPEG stream, an MP4 recording.

Every output is a Sink (sink.py); the live output thread feeds all of them the same labelled frames.
"""
