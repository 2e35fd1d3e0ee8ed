"""The window's avatar-set actions: choosing a set and checking its photos, consent (ask, show, revoke),
adding and removing photos, which photos the engine uses, and the LiveAvatar handed to the pipeline.
A mixin of MainWindow: it uses the window's widgets, stores and live controller."""
import logging
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QInputDialog, QMessageBox

from .consent_dialog import ConsentDialog
from .live_check_dialog import LiveCheckDialog

log = logging.getLogger(__name__)

SAMPLE_ID = "sample"


class AvatarSetActions:
    def _refresh_sets(self) -> None:
        sets = [(SAMPLE_ID, "Sample avatar")] + [(s.set_id, s.name) for s in self.library.sets()]
        self.panel.set_sets(sets, self.settings.current_set or SAMPLE_ID)

    def choose_set(self, set_id: str) -> None:
        try:
            info = self.library.get(set_id)
        except KeyError:
            info, set_id = self.library.get(SAMPLE_ID), SAMPLE_ID
        self.settings.current_set = set_id
        self.save_settings()
        self._refresh_sets()
        self.panel.show_loading(set_id, info.is_sample)
        self._check_n = self.checker.request(info, self.settings.sample_used)
        self._update_start_state()

    def _recheck(self) -> None:
        self.choose_set(self.settings.current_set or SAMPLE_ID)

    def _on_checked(self, checked, n: int) -> None:
        if n != self._check_n:
            return                                  # an older request; a newer one is on its way
        self.current = checked
        self.panel.show_checked(checked)
        record = self._consent_record()
        self._show_consent_state(record)
        if not self.live.running:
            base = self._framed_base()
            self.view.avatar.set_frame(base)
            self.view.avatar.set_caption("Not live" if base is not None else "")
            if base is None:
                self.view.avatar.set_placeholder("No usable photo", "Add 1 to 8 photos of one person: each one "
                                                                    "is checked for a single, clear face.")
        self._update_start_state()
        info = checked.info
        if self._needs_consent() and record is None and checked.usable and info.set_id not in self._consent_asked:
            self._consent_asked.add(info.set_id)
            QTimer.singleShot(0, self.ask_consent)
        if self.live.running:
            if checked.usable and not (self._needs_consent() and record is None):
                self.live.set_avatar(self._live_avatar(), self._pipeline_config())
            else:
                # nothing of this set can go out yet (no photo, no consent): the call keeps the avatar it
                # already shows (its own consent is still checked every frame) instead of going dark
                self._say_still_live(info.name, "has no usable photo yet" if not checked.usable
                                     else "has no consent record yet")

    def _say_still_live(self, name: str, why: str) -> None:
        shown = getattr(getattr(self.live.session, "avatar", None), "name", None)
        if shown and shown != name:
            self.banner.show_message(f"Still live as “{shown}”: “{name}” {why}. It goes live once it can.", "info")
        elif not shown:
            self.live.stop()
            self.banner.show_message(f"Outputs stopped: “{name}” {why}.", "error")

    def _needs_consent(self) -> bool:
        return self.current is not None and not self.current.info.is_sample

    def _set_hashes(self) -> list:
        """The hashes of the bytes the checker decoded (not a re-read of the files): consent is checked
        for exactly the images shown. A file that could not be read has none, so no record matches it."""
        if self.current is None:
            return []
        return [c.sha256 for c in self.current.images if c.sha256]

    def _consent_record(self, scope: str = "live"):
        if not self._needs_consent() or not self.current.images:
            return None
        return self.consent_store.find_valid(self._set_hashes(), scope=scope)

    def _show_consent_state(self, record) -> None:
        if self.current is None:
            return
        if self.current.info.is_sample:
            self.panel.set_consent("✓ Built-in sample: depicts no real person, no consent needed.", "good", False, False)
        elif not self.current.images:
            self.panel.set_consent("Add photos to this set to begin.", "info", False, False)
        elif record is None:
            self.panel.set_consent("✕ No consent recorded for these photos: outputs cannot start.", "error", True, False)
        else:
            from realtime.provenance.consent import needs_stronger_label
            who = "you" if record.kind == "self" else record.who
            how = {"live-check": "live-checked", "token": f"{who}'s signed token"}.get(record.method, "")
            if needs_stronger_label(record):     # say why the outputs carry the label's second line
                how = "attested, not verified: the label says so"
            self.panel.set_consent(f"✓ Consent recorded: shows {who} ({how}) · until {record.expires[:10]}",
                                   "good", False, True)

    def ask_consent(self, force: bool = False):
        """Open the consent dialog for the current set; returns the record or None (refused)."""
        if not self._needs_consent() or not self.current.images:
            return None
        existing = self._consent_record()
        if existing is not None and not force:
            return existing
        thumbs = [c.image_bgr for c in self.current.images if c.image_bgr is not None]
        dlg = ConsentDialog(self.current.info.name, thumbs, self)
        dlg.exec()
        value = dlg.result_value()
        if value is None:
            self.banner.show_message(f"No consent recorded for “{self.current.info.name}”: AvatarCam will not "
                                     "animate it. You can give consent later from the avatar panel.", "info")
            return None
        kind, name = value
        method, evidence = "attestation", None
        if kind == "self":
            verdict = self._live_check()
            if verdict is False:
                return None
            if verdict is not None:
                method, evidence = "live-check", verdict.evidence()
        try:
            record = self.consent_store.record(self._set_hashes(), kind, name, method=method, evidence=evidence)
        except Exception as exc:
            self.banner.show_message(f"Consent could not be recorded: {exc}", "error")
            return None
        self._show_consent_state(record)
        self._update_start_state()
        self.banner.hide()                       # whatever said consent was missing no longer holds
        if self.live.running:
            self.live.set_avatar(self._live_avatar(), self._pipeline_config())
        return record

    def _live_check(self):
        """"This is me": the webcam face must match the photos (and be live). Returns the passed
        LiveCheckResult; None when there is no webcam and the person chose to attest instead (the output
        then carries the second label line); False when it failed or was cancelled."""
        # the webcam only, nothing animated; stopped again after the check, whatever its outcome: left
        # running it is a session with no avatar and no outputs ("Starting..." for ever)
        camera_only = not self.live.running and self._start(avatar_required=False, camera_only=True)
        try:
            photos = [c.image_bgr for c in self.current.usable]
            dlg = LiveCheckDialog(self.live, photos, mirrored=self.settings.mirror, parent=self)
            dlg.exec()
        finally:
            if camera_only:
                self.live.stop()
        result = dlg.result_value()
        if result is not None and result.passed:
            return result
        if dlg.no_camera and QMessageBox.question(
                self, "No webcam", "Without a webcam AvatarCam cannot check that these photos show you. Record "
                "your consent as a statement instead? Outputs then say consent is attested, not verified."
        ) == QMessageBox.Yes:
            return None
        reason = getattr(dlg.runner, "error", None) if dlg.runner is not None else None
        what = "the live check did not pass" if result is not None or reason else "the live check was not completed"
        self.banner.show_message(f"No consent recorded: {what}" + (f" ({reason})." if reason else ".") +
                                 " You can try again from the avatar panel.", "info")
        return False

    def revoke_consent(self) -> None:
        record = self._consent_record()
        if record is None:
            return
        if QMessageBox.question(self, "Revoke consent",
                                "Revoke the consent record for this set? Every output using it stops, and the "
                                "set cannot be animated until consent is given again.") != QMessageBox.Yes:
            return
        self.consent_store.revoke(record.id)
        if self.live.running:
            self.live.stop()
        self._show_consent_state(None)
        self._update_start_state()
        self.banner.show_message("Consent revoked: outputs for this set stopped.", "info")

    def _framed_base(self):
        """The base photo as the output will frame it (shown while not live), or None."""
        from realtime.live.live_avatar import frame_image
        if self.current is None or not self.current.usable:
            return None
        u = self.current.usable[0]
        s = self.settings
        return frame_image(u.check.to_avatar_image(u.image_bgr, u.sha256), s.output_width, s.output_height).image_bgr

    def _live_avatar(self):
        from realtime.live.live_avatar import make_live_avatar
        from realtime.provenance.consent import needs_stronger_label
        c = self.current
        usable = c.usable
        images = [u.check.to_avatar_image(u.image_bgr, u.sha256) for u in usable]
        used = [i for i, u in enumerate(usable) if u.used]
        record = self._consent_record()
        s = self.settings
        return make_live_avatar(c.info.name, images, tuple(self._set_hashes()), s.output_width, s.output_height,
                                used=used, needs_consent=not c.info.is_sample,
                                stronger_label=needs_stronger_label(record),
                                set_id=c.info.set_id)

    def add_files(self, set_id: str, paths: list) -> None:
        from realtime.errors import AppError
        try:
            if not set_id or set_id == SAMPLE_ID:
                set_id = self.library.create(_name_from(paths)).set_id
            self.library.add_files(set_id, paths)
        except AppError as exc:
            self.banner.show_message(str(exc), "error")
        except OSError as exc:
            self.banner.show_message(f"The photos could not be added: {exc}", "error")
        self.settings.welcome_done = True
        self.stack.setCurrentIndex(1)
        if set_id and set_id != SAMPLE_ID:
            self.choose_set(set_id)

    def _remove_file(self, set_id, file):
        self.library.remove(set_id, file)
        self._recheck()

    def _used_changed(self, set_id, file, used):
        if set_id == SAMPLE_ID:
            names = [c.file for c in self.current.images]
            cur = set(self.settings.sample_used if self.settings.sample_used is not None else range(len(names)))
            i = names.index(file)
            cur = cur | {i} if used else cur - {i}
            self.settings.sample_used = sorted(cur)
            for c in self.current.images:
                if c.file == file:
                    c.used = used
        else:
            self.library.set_used(set_id, file, used)
            for c in self.current.images:
                if c.file == file:
                    c.used = used
        self.save_settings()
        self.panel.show_counts()
        if self.live.running:
            self.live.set_avatar(self._live_avatar(), self._pipeline_config())

    def _base_changed(self, set_id, file):
        self.library.make_base(set_id, file)
        self._recheck()

    def _new_set(self):
        name, ok = QInputDialog.getText(self, "New avatar set", "Name (for example your name):")
        if ok:
            info = self.library.create(name)
            self.choose_set(info.set_id)

    def _rename_set(self, set_id, name):
        self.library.rename(set_id, name)
        self._refresh_sets()

    def _delete_set(self, set_id):
        if self.live.running and self.current and self.current.info.set_id == set_id:
            self.live.stop()
        self.library.delete(set_id)
        self.choose_set(SAMPLE_ID)


def _name_from(paths) -> str:
    stem = Path(paths[0]).stem if paths else "My avatar"
    return stem[:40] or "My avatar"
