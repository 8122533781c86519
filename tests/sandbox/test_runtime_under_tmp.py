"""An interpreter whose venv lives under /tmp (a checkout cloned into /tmp): each execution's fresh
tmpfs /tmp would hide it, so the sandbox binds it back read-only while the execution still gets its
own private /tmp. Run for real: a venv is created under /tmp and a fork server started from it."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import r1ci

# Runs inside the venv: one executor with every layer it can get, one without the minimal root (the
# host's tree read-only, the venv bound back from there). Prints one JSON line per executor.
# argv[1]: the per-execution mount point the venv lives under (/tmp or /dev/shm).
DRIVER = textwrap.dedent(
    """
    import json, sys
    from r1ci.sandbox import LocalExecutor
    from r1ci.sandbox.isolation import execution_exposed_paths

    SNIPPETS = {
        "imports": (
            "preloaded = 'wave' in sys.modules\\nimport wave, r1ci_tmp_probe\\n"
            "print(json.dumps([sys.prefix, os.path.isdir(sys.prefix), r1ci_tmp_probe.VALUE, preloaded]))"
        ),
        "write_prefix": (
            "import ctypes\\nlibc = ctypes.CDLL(None, use_errno=True)\\n"
            "fd = libc.open(os.path.join(sys.prefix, 'pwned').encode(), os.O_WRONLY | os.O_CREAT, 0o644)\\n"
            "print(json.dumps([fd, ctypes.get_errno(), bool(os.statvfs(sys.prefix).f_flag & os.ST_RDONLY)]))"
        ),
        "replace_tree": (
            "import ctypes\\nlibc = ctypes.CDLL(None, use_errno=True)\\nout = {}\\n"
            "top = POINT + '/' + sys.prefix[len(POINT) + 1 :].split('/')[0]\\n"
            "for name, call in [('rename', lambda: os.rename(top, POINT + '/moved')),"
            " ('rmdir', lambda: os.rmdir(top)),"
            " ('mkdir_in_top', lambda: os.mkdir(top + '/mine'))]:\\n"
            "    try:\\n        call(); out[name] = 0\\n"
            "    except OSError as e:\\n        out[name] = e.errno\\n"
            "out['umount'] = [libc.umount2(top.encode(), 2), ctypes.get_errno()]\\n"
            "out['listing'] = sorted(os.listdir(POINT))\\nout['top'] = sorted(os.listdir(top))\\n"
            "out['clone'] = sorted(os.listdir(top + '/clone'))\\n"
            "print(json.dumps(out))"
        ),
        "workdir": (
            "open('/tmp/mine.txt', 'w').write('x')\\nopen('/dev/shm/mine.shm', 'w').write('x')\\n"
            "print(json.dumps([os.getcwd(), sorted(os.listdir('/tmp') + os.listdir('/dev/shm'))]))"
        ),
        "second": "print(json.dumps([os.path.exists('/tmp/mine.txt'), os.path.exists('/dev/shm/mine.shm')]))",
        "subprocess": (
            "import subprocess\\n"
            "r = subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True, text=True)\\n"
            "print(json.dumps([r.returncode, r.stdout.strip(), r.stderr[-300:]]))"
        ),
    }
    head = f"import json, os, sys\\nPOINT = {sys.argv[1]!r}\\n"
    for disabled in ((), ("minimal_root",)):
        with LocalExecutor(workers=1, prefork=1, disable_layers=disabled) as ex:
            info = ex.info()
            out = {"layers": info["layers"], "missing": info["missing"], "results": {}}
            out["exposed"] = execution_exposed_paths()
            if info["layers"]["mount_namespace"]:
                for name, code in SNIPPETS.items():
                    r = ex.run(head + code)
                    out["results"][name] = [r.status, r.stdout, r.stderr[-2000:]]
        print(json.dumps(out), flush=True)
    """
)


@pytest.fixture(params=["/tmp", "/dev/shm"])
def tmp_venv(request: pytest.FixtureRequest) -> Iterator[Path]:
    """A venv under /tmp or /dev/shm (a real mount of its own on most hosts) that sees this environment's
    packages (and r1ci) through a .pth file, next to a file no snippet may see."""
    if not os.path.isdir(request.param) or not os.access(request.param, os.W_OK):
        pytest.skip(f"no writable {request.param}")
    base = Path(tempfile.mkdtemp(prefix="r1ci-venv-test-", dir=request.param))
    try:
        os.chmod(base, 0o755)
        venv = base / "clone" / ".venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        (base / "clone" / "secret.txt").write_text("not for snippets\n")
        py = venv / "bin" / "python"
        purelib = subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        src = os.path.dirname(os.path.dirname(os.path.abspath(r1ci.__file__)))
        lines = [src] + [f"import site; site.addsitedir({d!r})" for d in site.getsitepackages()]
        Path(purelib, "zz_r1ci_test_parent.pth").write_text("\n".join(lines) + "\n")
        Path(purelib, "r1ci_tmp_probe.py").write_text("VALUE = 42\n")
        yield venv
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_interpreter_under_tmp_is_bound_back_read_only(tmp_venv: Path) -> None:
    point = str(tmp_venv.parents[2])
    py = tmp_venv / "bin" / "python"
    # A script in /tmp itself: /tmp is then on the fork server's sys.path too.
    with tempfile.NamedTemporaryFile("w", prefix="r1ci-driver-", suffix=".py", dir="/tmp") as script:
        script.write(DRIVER)
        script.flush()
        proc = subprocess.run(
            [str(py), script.name, point], capture_output=True, text=True, timeout=180, cwd="/tmp"
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    reports = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == 2, proc.stdout
    full, without_root = reports
    if not full["layers"]["mount_namespace"]:
        pytest.skip(f"no mount namespace here: {full['missing'].get('mount_namespace')}")
    if os.geteuid() == 0:  # the layer that failed with "File exists" before
        assert full["layers"]["minimal_root"], full["missing"]
    assert not without_root["layers"]["minimal_root"]
    assert without_root["missing"]["minimal_root"] == "disabled by configuration"
    top = tmp_venv.parent.parent.name
    for report in reports:
        # The test venv's top directory, and this interpreter's if it lives under /tmp too (a clone there).
        assert str(tmp_venv) in report["exposed"], report["exposed"]
        entries = {
            p: sorted({e[len(p) + 1 :].split("/")[0] for e in report["exposed"] if e.startswith(p + "/")})
            for p in ("/tmp", "/dev/shm")
        }
        res = report["results"]
        for name, (status, _, stderr) in res.items():
            assert status == "ok", (name, stderr)

        def out(name: str, res: dict = res) -> object:
            return json.loads(res[name][1])

        # A stdlib module the fork server did not preload, and a module from the venv under /tmp.
        assert out("imports") == [str(tmp_venv), True, 42, False]
        # Nothing can be written into the venv: the bind is read-only (EROFS, not just permissions).
        fd, err, readonly = out("write_prefix")
        assert fd == -1 and readonly and err in (30, 13), (fd, err)  # EROFS (EACCES without root)
        assert not (tmp_venv / "pwned").exists()
        # The snippet owns its /tmp, but cannot move the bound tree aside, remove it or add to it.
        tree = out("replace_tree")
        assert isinstance(tree, dict)
        assert tree["rename"] == 16 and tree["rmdir"] == 16, tree  # EBUSY: a mount point
        assert tree["mkdir_in_top"] in (30, 13), tree
        assert tree["umount"][0] == -1 and tree["umount"][1] == 1, tree  # EPERM
        assert top in entries[point] and tree["listing"] == entries[point], tree  # no other host file
        assert tree["top"] == ["clone"] and tree["clone"] == [".venv"], tree  # no secret.txt
        # The workdir and /dev/shm are this execution's own, fresh, writable tmpfs.
        cwd, listing = out("workdir")
        assert cwd == "/tmp" and listing == sorted(
            ["mine.txt", "mine.shm", *entries["/tmp"], *entries["/dev/shm"]]
        )
        assert out("second") == [False, False]
        # The interpreter itself (sys.executable under /tmp) can start subprocesses.
        assert out("subprocess")[:2] == [0, "42"], out("subprocess")


FAILING_ROOT = textwrap.dedent(
    """
    import errno, json, os, sys
    from r1ci.sandbox import isolation

    def broken(root, held):
        raise FileExistsError(errno.EEXIST, "File exists", root + "/tmp")

    isolation._fill_minimal_root = broken
    others = set(isolation.KERNEL_LAYERS) - {"mount_namespace", "minimal_root"}
    setup = isolation.setup_server(others, 0)
    layers = setup.layers
    print(json.dumps([layers.mount_namespace, layers.minimal_root, layers.missing.get("minimal_root"),
                      setup.root, os.path.exists(sys.argv[1])]))
    """
)


def test_failed_minimal_root_says_why_and_restores_tmp() -> None:
    """A minimal root that cannot be built is reported with the step and path, and the server gets its
    own /tmp back (the tmpfs the root was being built on is detached)."""
    if os.geteuid() != 0:
        pytest.skip("building the minimal root needs root")
    with tempfile.NamedTemporaryFile(prefix="r1ci-marker-", dir="/tmp") as marker:
        proc = subprocess.run(
            [sys.executable, "-c", FAILING_ROOT, marker.name], capture_output=True, text=True, timeout=60
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    mount_ns, minimal_root, reason, root, marker_seen = json.loads(proc.stdout.splitlines()[-1])
    if not mount_ns:
        pytest.skip("no mount namespace here")
    assert not minimal_root and root is None
    assert reason == "could not build the minimal root: File exists: /tmp/r1ci-root/tmp"
    assert marker_seen  # the host's /tmp (read-only), not the half-built root's tmpfs
