"""The status bar: fps, capture-to-output latency (p50/p95), dropped frames, engine and backend, and
the virtual camera's state."""
import math

from PySide6.QtWidgets import QLabel, QStatusBar


class StatusLine:
    def __init__(self, bar: QStatusBar):
        self.bar = bar
        self.fps = QLabel()
        self.latency = QLabel()
        self.dropped = QLabel()
        self.engine = QLabel()
        self.vcam = QLabel()
        for w in (self.fps, self.latency, self.dropped, self.engine, self.vcam):
            bar.addPermanentWidget(w)
        self.engine_text = "engine: not started"
        self.idle()

    def idle(self) -> None:
        self.fps.setText("Not live")
        self.latency.setText("latency —")
        self.dropped.setText("dropped —")
        self.engine.setText(self.engine_text)

    def show_stats(self, st) -> None:
        self.fps.setText(f"{st.fresh_fps:.1f} fps · output {st.output_fps:.0f} fps")
        if math.isnan(st.latency_p50_ms):
            self.latency.setText("latency —")
        else:
            self.latency.setText(f"latency p50 {st.latency_p50_ms:.0f} ms · p95 {st.latency_p95_ms:.0f} ms")
        self.dropped.setText(f"dropped {st.dropped}")

    def show_engine(self, text: str) -> None:
        self.engine_text = text
        self.engine.setText(text)

    def show_vcam(self, text: str) -> None:
        self.vcam.setText(f"virtual camera: {text}")
