"""Consent before output: find or record the consent record for the exact image set, or refuse."""
from .errors import ConsentError

HOW_TO = ('give consent with --consent self (the photos show you) or --consent "other:NAME" '
          '(NAME agreed to be animated from these photos)')


def parse_consent(arg: str):
    if arg is None:
        return None
    if arg == "self":
        return ("self", None)
    if arg.startswith("other:") and arg[6:].strip():
        return ("other", arg[6:].strip())
    raise ConsentError(f'--consent must be "self" or "other:NAME", got {arg!r}')


def require_consent(image_hashes, consent_arg, store, names, scope="animate"):
    """A valid consent record for these images, and whether it is new. A new record (from
    consent_arg) is signed but not yet stored: the caller keeps it (store.save) once its output is
    made, so a bad input found later leaves no record behind for a video that was never made.
    names: the images' file names, for the message when there is no record."""
    wanted = parse_consent(consent_arg)
    if not image_hashes or not all(image_hashes):      # an image not read from a file has no hash to consent to
        raise ConsentError("consent covers image files: every avatar image needs the hash of its file")
    record = store.find_valid(image_hashes, scope=scope)
    if record is not None:
        return record, False
    if wanted is not None:
        kind, name = wanted
        return store.record(image_hashes, kind, name, save=False), True
    names = list(names)
    which = f"this photo ({names[0]})" if len(names) == 1 else f"these {len(names)} photos ({', '.join(names)})"
    raise ConsentError(f"no consent record for {which}; {HOW_TO}")
