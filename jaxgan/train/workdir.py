"""The training workdir: its paths checked before a run writes anything, its lock, its logs
trimmed to the checkpoint a run resumes from.

A run writes config.json, config_history.jsonl, metrics.jsonl, eval.jsonl, checkpoints/,
samples/ and tensorboard/ under its workdir. Each is checked up front (a file where a folder
goes, a folder where a file goes, a folder that cannot be written) so that a bad path is a
one-line error before the first step, not a traceback after training.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
import time

from jaxgan.errors import JaxganError

log = logging.getLogger("jaxgan")

FOLDERS = ("checkpoints", "samples", "tensorboard")
FILES = ("config.json", "config_history.jsonl", "metrics.jsonl", "eval.jsonl", ".lock")
LOCK = ".lock"


def describe(error: OSError) -> str:
  """'[Errno 28] No space left on device' without the noise of the exception's repr."""
  text = error.strerror or str(error) or type(error).__name__
  return f"{text} (errno {error.errno})" if error.errno else text


def _probe(folder: str):
  """Raises a one-line error unless a file can be created (and removed) in folder. Root
  ignores permission bits, so only trying tells (read-only mounts, full disks, quotas)."""
  try:
    fd, path = tempfile.mkstemp(dir=folder, prefix=".jaxgan-probe-")
    os.close(fd)
    os.remove(path)
  except OSError as e:
    raise JaxganError(f"cannot write in {folder}: {describe(e)}") from e


def check_writable(workdir: str):
  """Every path the run will write, before it writes any."""
  if not workdir or not workdir.strip():
    raise JaxganError("--workdir is empty; name a folder for the run")
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise JaxganError(f"workdir {workdir} is a file, not a folder")
  if not os.path.isdir(workdir):
    # It will be created: its nearest existing parent must be a writable folder.
    parent = os.path.dirname(os.path.abspath(workdir))
    while not os.path.exists(parent):
      parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
      raise JaxganError(f"cannot create workdir {workdir}: {parent} is a file")
    _probe(parent)
    return
  _probe(workdir)
  for name in FOLDERS:
    path = os.path.join(workdir, name)
    if os.path.exists(path):
      if not os.path.isdir(path):
        raise JaxganError(f"{path} is a file; the run writes a folder there")
      _probe(path)
  for name in FILES:
    if os.path.isdir(os.path.join(workdir, name)):
      raise JaxganError(f"{os.path.join(workdir, name)} is a folder; the run writes a file there")


# ---------------------------------------------------------------- the lock


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # someone else's live process
    return True
  return True


def _read_owner(path: str):
  try:
    with open(path, encoding="utf-8") as f:
      owner = json.load(f)
    return int(owner["pid"]), str(owner["host"])
  except (OSError, ValueError, KeyError, TypeError):
    return None


class WorkdirLock:
  """W/.lock holds {"pid", "host"} of the run training in W. A lock of a live process, or of
  any process on another host (whose liveness this host cannot see), refuses a second run; a
  lock of a dead process on this host is stale and taken over with a warning."""

  def __init__(self, workdir: str):
    self.path = os.path.join(workdir, LOCK)
    self.host = socket.gethostname()
    self.held = False

  def check(self):
    """Refuses a live owner without writing anything (so later checks can still fail cleanly)."""
    if not os.path.exists(self.path):
      return
    owner = _read_owner(self.path)
    if owner is None:
      return  # unreadable: a crash between creating and writing it; acquire() warns
    pid, host = owner
    if host != self.host:
      raise JaxganError(f"{os.path.dirname(self.path)} is locked by process {pid} on host "
                        f"{host}; if that run is over, remove {self.path}")
    if pid != os.getpid() and _alive(pid):
      raise JaxganError(f"{os.path.dirname(self.path)} is in use by another jaxgan train "
                        f"(pid {pid}); wait for it or stop it")

  def acquire(self):
    self.check()
    os.makedirs(os.path.dirname(self.path), exist_ok=True)
    record = json.dumps({"pid": os.getpid(), "host": self.host,
                         "time": time.strftime("%Y-%m-%dT%H:%M:%S")})
    try:
      fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
      owner = _read_owner(self.path)
      if owner is not None and owner[0] != os.getpid():
        log.warning("jaxgan: taking over the stale lock %s of process %d, which is gone",
                    self.path, owner[0])
      elif owner is None:
        log.warning("jaxgan: taking over the unreadable lock %s", self.path)
      tmp = f"{self.path}.{os.getpid()}.tmp"
      with open(tmp, "w", encoding="utf-8") as f:
        f.write(record)
      os.replace(tmp, self.path)
    else:
      with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(record)
    # Two runs taking over one stale lock at once: the last writer wins, the other stops.
    if _read_owner(self.path) != (os.getpid(), self.host):
      self.check()
      raise JaxganError(f"{os.path.dirname(self.path)} was locked by another run just now")
    self.held = True

  def release(self):
    if self.held and _read_owner(self.path) == (os.getpid(), self.host):
      try:
        os.remove(self.path)
      except OSError:
        pass
    self.held = False


# ---------------------------------------------------------------- logs on resume


def trim_jsonl(path: str, last_step: int) -> int:
  """Drops the records of `path` past last_step (and a torn last line), rewriting the file
  atomically, so a resumed run does not log the steps after its checkpoint twice. Returns how
  many records were dropped."""
  if not os.path.exists(path):
    return 0
  with open(path, "rb") as f:
    lines = f.read().split(b"\n")
  kept, dropped = [], 0
  for line in lines:
    if not line.strip():
      continue
    try:
      step = int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
      dropped += 1  # a line cut short by a crash
      continue
    if step <= last_step:
      kept.append(line)
    else:
      dropped += 1
  if dropped:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
      f.write(b"".join(line + b"\n" for line in kept))
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
    log.info("dropped %d records past step %d from %s", dropped, last_step, path)
  return dropped


def fsync_append(path: str, record: dict):
  """Appends one JSON line and forces it to the disk (eval.jsonl: rare and precious)."""
  with open(path, "a", encoding="utf-8") as f:
    f.write(json.dumps(record) + "\n")
    f.flush()
    os.fsync(f.fileno())
