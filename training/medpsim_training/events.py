"""Progress as JSON lines on stdout (one object per line, flushed), human messages on stderr.

stdout carries nothing but these lines, so a caller (the server's training job) can parse it line by line.
Every object has "event" (start | epoch | progress | metrics | warning | done | error), "command" and "time".
"""
import datetime
import json
import math
import sys


def clean_json(value):
    # Strict JSON has no NaN/Infinity: a diverged loss becomes null instead of an unparsable line.
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return clean_json(value.item())
    return value


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class Events:
    def __init__(self, command, out=None, err=None):
        self.command = command
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def emit(self, event, **fields):
        record = {"event": event, "command": self.command, "time": now_iso()}
        record.update(fields)
        self.out.write(json.dumps(clean_json(record), allow_nan=False, sort_keys=False) + "\n")
        self.out.flush()

    def say(self, message):
        self.err.write(message + "\n")
        self.err.flush()

    def warning(self, message, **fields):
        self.say("WARNING: " + message)
        self.emit("warning", message=message, **fields)

    def error(self, message, **fields):
        self.say("error: " + message)
        self.emit("error", message=message, **fields)
