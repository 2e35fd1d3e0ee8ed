"""`run.py consent ...`: the consent records on this machine.

    list                         every record and whether it is valid now
    show ID                      one record, its verification and the output sessions logged under it
    revoke ID                    stop every output that relies on it (the live gate re-checks in seconds)
    export ID [--out FILE]       a proof bundle: the signed record, this install's public key, its sessions
    import FILE                  a consent token from the depicted person (or this install's own export)
    self IMG... [--camera N]     "this is me": live check (webcam face matches the photos, blink/turn on
                                 request), then a self record with method live-check
    token IMG... --name NAME     run by the depicted person on their machine: a signed consent token
                                 (add --live-check to prove on camera that the photos show them)
    key                          this install's key id (give it to whoever makes you a token)
"""
import json
import sys
from pathlib import Path

from ..errors import ConsentError, InputError


def add_parser(sub):
    p = sub.add_parser("consent", help="list, show, revoke, export and import consent records; make tokens")
    s = p.add_subparsers(dest="consent_command", required=True)
    s.add_parser("list", help="every consent record on this machine")
    for name, text in (("show", "one record in full"), ("revoke", "revoke a record")):
        q = s.add_parser(name, help=text)
        q.add_argument("id")
    q = s.add_parser("export", help="write a proof bundle for a record")
    q.add_argument("id")
    q.add_argument("--out", help="file to write (default: print)")
    q = s.add_parser("import", help="import a consent token (or this install's own export)")
    q.add_argument("file")
    q = s.add_parser("token", help="(for the depicted person) make a signed consent token for your photos")
    q.add_argument("images", nargs="+", metavar="IMG")
    q.add_argument("--name", required=True, help="your name, as the animator will see it")
    q.add_argument("--scope", nargs="+", default=["animate", "live", "record", "stream"],
                   choices=["animate", "live", "record", "stream"])
    q.add_argument("--days", type=float, default=365, help="valid for this many days (default 365)")
    q.add_argument("--for", dest="audience", metavar="KEYID",
                   help="only the install with this key id may import it (see `consent key` there)")
    q.add_argument("--out", required=True, help="token file to write and send")
    q.add_argument("--live-check", action="store_true", help="prove on camera that the photos show you")
    q.add_argument("--camera", type=int, default=0, help="webcam index for --live-check (default 0)")
    q = s.add_parser("self", help='"this is me": live webcam check against your photos, then record consent')
    q.add_argument("images", nargs="+", metavar="IMG")
    q.add_argument("--camera", type=int, default=0, help="webcam index (default 0)")
    q.add_argument("--scope", nargs="+", default=["animate", "live", "record", "stream"],
                   choices=["animate", "live", "record", "stream"])
    q.add_argument("--days", type=float, default=365, help="valid for this many days (default 365)")
    s.add_parser("key", help="this install's consent key id")
    p.set_defaults(func=run)


def _status(store, rec) -> str:
    ok, reason = store.verify(rec)
    return "valid" if ok else reason


def run(args, out=None) -> int:
    from ..provenance.consent import ConsentStore
    out = out or sys.stdout
    store = ConsentStore.default()
    cmd = args.consent_command

    if cmd == "key":
        print(store.key_id, file=out)
        return 0

    if cmd == "list":
        recs = store.records()
        if not recs:
            print(f"no consent records in {store.records_dir}", file=out)
            return 0
        for rec in recs:
            print(f"{rec.describe()}  [{_status(store, rec)}]", file=out)
        return 0

    if cmd == "show":
        rec = store.load(args.id)
        ok, reason = store.verify(rec)
        print(json.dumps(rec.to_dict(), indent=2, sort_keys=True), file=out)
        print(f"verification: {'VALID' if ok else 'NOT VALID'} ({reason})", file=out)
        print(f"record sha256 (carried in C2PA manifests): {rec.record_hash}", file=out)
        for e in store.sessions():
            if e["record_id"] == rec.id:
                print(f"session {e['session_id']} at {e['time']}: {e['output']}", file=out)
        return 0 if ok else 1

    if cmd == "revoke":
        rec = store.revoke(args.id)
        print(f"revoked {rec.id} ({rec.kind}{', ' + rec.who if rec.who else ''}) at {rec.revoked}; "
              "outputs relying on it stop", file=out)
        return 0

    if cmd == "export":
        from cryptography.hazmat.primitives import serialization
        rec = store.load(args.id)
        bundle = {"format": "avatarcam.consent-export/1", "record": rec.to_dict(),
                  "record_sha256": rec.record_hash, "status": _status(store, rec),
                  "public_key_pem": store.public_key.public_bytes(
                      serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
                  "sessions": [e for e in store.sessions() if e["record_id"] == rec.id]}
        text = json.dumps(bundle, indent=2, sort_keys=True)
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
            print(f"wrote {args.out}", file=out)
        else:
            print(text, file=out)
        return 0

    if cmd == "import":
        return _import(store, args.file, out)

    if cmd == "token":
        from ..provenance.consent_token import create_token
        images, hashes = _read_once(args.images)
        evidence = {"live_check": "not performed"}
        if args.live_check:
            evidence = {"live_check": live_check(images, camera_source(args.camera), out).evidence()}
        token = create_token(store, hashes, args.name, scope=args.scope, expires_days=args.days,
                             audience=args.audience, evidence=evidence)
        Path(args.out).write_text(json.dumps(token, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote consent token {token['id']} for {len(hashes)} image(s) to {args.out}; "
              f"send it to the person who will animate you", file=out)
        return 0
    if cmd == "self":
        images, hashes = _read_once(args.images)
        result = live_check(images, camera_source(args.camera), out)
        rec = store.record(hashes, "self", None, scope=args.scope, expires_days=args.days,
                           method="live-check", evidence=result.evidence())
        print(f"live check passed ({result.reason}); consent record {rec.id} for {len(hashes)} image(s), "
              f"expires {rec.expires}", file=out)
        return 0
    raise ConsentError(f"unknown consent command {cmd!r}")


def _read_once(paths):
    """Each image decoded and hashed from ONE read: the live check must compare the webcam face with
    exactly the photos whose hashes the record will carry (a file replaced between two reads would
    put one person's check on another's photo)."""
    from ..images import load_image_hashed
    images, hashes = [], []
    for p in paths:
        if not Path(p).is_file():
            raise InputError(p, "no such image")
        img, digest = load_image_hashed(p)
        images.append(img)
        hashes.append(digest)
    return images, hashes


def camera_source(index: int):
    from ..camera import CameraSource
    return CameraSource(index)


def live_check(images, source, out, timeout_s: float = 60.0):
    """Run the live check of the avatar photos (BGR arrays) on frames from source ((frame, t) pairs);
    ConsentError unless it passes."""
    from ..identity import FaceEmbedder
    from ..provenance.livecheck import LiveCheck, embed_photos
    from ..tracking import FaceTracker
    embedder = FaceEmbedder()
    photos = FaceTracker(static=True)
    try:
        avatar = embed_photos(list(images), photos, embedder)
    except ValueError as e:
        raise ConsentError(f"live check: {e}") from None
    finally:
        photos.close()
    check = LiveCheck(avatar, embedder)
    tracker = FaceTracker(static=False)
    shown = None
    try:
        for frame, t in source:
            if check.prompt != shown:
                shown = check.prompt
                print(f">> {shown}", file=out, flush=True)
            if check.feed(frame, tracker.detect(frame), t) != "running" or t > timeout_s:
                break
    finally:
        tracker.close()
    result = check.result()
    if not result.passed:
        raise ConsentError(f"live check failed: {check.reason or 'it did not finish'}; no consent was recorded")
    print(f">> {check.prompt}", file=out)
    return result


def _import(store, path, out) -> int:
    from ..provenance.consent import ConsentRecord
    from ..provenance.consent_token import TOKEN_FORMAT, import_token
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(path, f"not a consent token or export (unreadable JSON: {e})") from None
    if isinstance(data, dict) and data.get("format") == TOKEN_FORMAT:
        rec = import_token(store, data)
        print(f"imported consent token from {rec.who}: record {rec.id}, {len(rec.image_hashes)} image(s), "
              f"scope {','.join(rec.scope)}, expires {rec.expires}", file=out)
        return 0
    if isinstance(data, dict) and data.get("format") == "avatarcam.consent-export/1":
        rec = ConsentRecord.from_dict(data.get("record"))
        if store.restore(rec):
            print(f"restored record {rec.id} ({_status(store, rec)})", file=out)
        else:
            print(f"record {rec.id} is already here ({_status(store, rec)})", file=out)
        return 0
    raise InputError(path, f"not a consent token ({TOKEN_FORMAT}) or a consent export")
