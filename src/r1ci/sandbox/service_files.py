"""SandboxFusion's `files` and `fetch_files` on top of the executor's plain `run(code)`.

The executor takes only code, so a request with files runs a small wrapper instead of the bare
snippet, inside the same sandboxed child:

1. it decodes each `files` entry into the working directory (relative paths; sub-directories are made),
2. execs the snippet in the same `__main__` namespace, its tracebacks printed as a plain run prints
   them (MemoryError and other BaseExceptions propagate, so the executor still classifies them),
3. whatever way the snippet ends (normally, by an exception or `sys.exit`), reads each `fetch_files`
   path (relative to the starting working directory, as SandboxFusion does; at most `budget` bytes in
   all) and writes them as one JSON trailer between two random markers at the end of stdout.

The service then cuts the trailer out of stdout (`split_fetched`) and applies the client's output limit
to what is left. The executor is given room for the trailer on top of that limit.

What this cannot do: a snippet the sandbox kills (timeout, memory kill, `os._exit`, output flood)
returns no files, and one that writes more than its output limit straight to fd 1 (bypassing
`sys.stdout`) can push the trailer out of the buffer; the response's `r1ci.fetch` then says the
files were lost. A snippet can forge its own trailer, which only changes its own response: it could
have written those files anyway.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from r1ci.sandbox.result import truncation_marker

_WRAPPER = '''\
def __r1ci_files(namespace, code, files, fetch, nonce, budget):
    import base64, json, linecache, os, sys, traceback
    namespace.pop("__r1ci_files", None)
    root = os.getcwd()
    for name, data in files.items():
        path = os.path.join(root, name)
        try:
            os.makedirs(os.path.dirname(path) or root, exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(base64.b64decode(data))
        except (OSError, ValueError) as exc:
            raise SystemExit(f"r1ci sandbox: cannot write file {name!r}: {exc}") from None
    linecache.cache["<code>"] = (len(code), None, code.splitlines(True), "<code>")
    try:
        try:
            exec(compile(code, "<code>", "exec", dont_inherit=True), namespace)
        except (SystemExit, MemoryError):
            raise
        except Exception as exc:
            ours = {getattr(sys.modules.get(m), "__file__", None) for m in ("r1ci.sandbox.guard", "r1ci.sandbox.child")}
            report = traceback.TracebackException(type(exc), exc, exc.__traceback__.tb_next, compact=True)
            report.stack = traceback.StackSummary.from_list([f for f in report.stack if f.filename not in ours])
            sys.stderr.write("".join(report.format()))
            raise SystemExit(1) from None
    finally:
        out = {"files": {}, "missing": [], "too_large": []}
        for name in fetch:
            path = os.path.join(root, name)
            try:
                if not os.path.isfile(path):
                    out["missing"].append(name)
                    continue
                with open(path, "rb") as handle:
                    data = handle.read(budget + 1)
            except (OSError, ValueError):
                out["missing"].append(name)
                continue
            if len(data) > budget:
                out["too_large"].append(name)
                continue
            budget -= len(data)
            out["files"][name] = base64.b64encode(data).decode("ascii")
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except Exception:
                pass
        blob = ("\\n" + nonce + json.dumps(out) + nonce + "\\n").encode("ascii")
        try:
            while blob:
                blob = blob[os.write(1, blob):]
        except OSError:
            pass
'''


class FilesError(ValueError):
    """A `files` entry that cannot be written (bad base64, bad name): the request is refused."""


def decode_files(files: dict[str, str | None], max_files: int) -> dict[str, str]:
    """Validated `files` (name -> base64); None contents are skipped, as SandboxFusion skips them."""
    kept = {name: data for name, data in files.items() if data is not None}
    if len(kept) > max_files:
        raise FilesError(f"{len(kept)} files sent; this server accepts at most {max_files} per request")
    for name, data in kept.items():
        if not name or "\x00" in name:
            raise FilesError(f"file name {name!r} is empty or holds a NUL byte")
        try:
            base64.b64decode(data)
        except (binascii.Error, ValueError) as exc:
            raise FilesError(f"files[{name!r}] is not base64 ({exc}); encode the content with base64") from None
    return kept


@dataclass
class FilesPlan:
    """One request's wrapper: the code to run and how to read its trailer back."""

    code: str
    nonce: str
    fetch: list[str]
    trailer_room: int  # bytes of stdout the trailer may take on top of the client's limit


def plan(code: str, files: dict[str, str], fetch: list[str], budget: int) -> FilesPlan:
    nonce = f"<<r1ci-fetch-{secrets.token_hex(16)}>>"
    call = f"__r1ci_files(globals(), {code!r}, {files!r}, {fetch!r}, {nonce!r}, {budget!r})\n"
    names = sum(len(json.dumps(name)) + 8 for name in fetch)
    room = 4 * (budget // 3 + 1) + 2 * names + 2 * len(nonce) + 256
    return FilesPlan(code=_WRAPPER + call, nonce=nonce, fetch=fetch, trailer_room=room)


@dataclass
class Fetched:
    stdout: str
    files: dict[str, str] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    truncated: bool = False


def split_fetched(stdout: str, p: FilesPlan, executor_limit: int, client_limit: int) -> Fetched:
    """Cut the trailer out of stdout, keep the requested files, and apply the client's output limit."""
    executor_cut = stdout.endswith(truncation_marker(executor_limit))
    if executor_cut:
        stdout = stdout[: -len(truncation_marker(executor_limit))]
    end = stdout.rfind(p.nonce + "\n")
    start = stdout.rfind("\n" + p.nonce, 0, end) if end >= 0 else -1
    files: dict[str, str] = {}
    notes: dict[str, Any] = {}
    if start < 0:
        notes["lost"] = p.fetch  # the snippet was killed, or its output pushed the trailer out
    else:
        trailer = _parse_trailer(stdout[start + 1 + len(p.nonce) : end])
        stdout = stdout[:start] + stdout[end + len(p.nonce) + 1 :]
        wanted = set(p.fetch)
        files = {k: v for k, v in trailer.get("files", {}).items() if k in wanted and isinstance(v, str)}
        for key in ("missing", "too_large"):
            listed = trailer.get(key)
            names = [n for n in listed if isinstance(n, str) and n in wanted] if isinstance(listed, list) else []
            if names:
                notes[key] = names
    data = stdout.encode("utf-8", errors="surrogateescape")
    truncated = executor_cut or len(data) > client_limit
    if truncated:
        stdout = data[:client_limit].decode("utf-8", errors="replace") + truncation_marker(client_limit)
    return Fetched(stdout=stdout, files=files, notes=notes, truncated=truncated)


def _parse_trailer(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("files", {}), dict):
        return {}
    return data
