"""The cgroup layer's file handling, on a fake cgroup2 tree (this CI machine has v1 controllers only)
and on the real v1 hierarchy where it exists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from r1ci.sandbox import cgroups


def _fake_v2(root: Path) -> Path:
    parent = root / "user.slice"
    parent.mkdir()
    (parent / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (parent / "cgroup.subtree_control").write_text("cpu memory pids\n")
    return parent


def test_v2_tree_slots_limits_and_counters(tmp_path: Path) -> None:
    _fake_v2(tmp_path)
    tree = cgroups._create_v2("r1ci-test", {"": "/user.slice"}, str(tmp_path))
    assert tree.version == 2 and tree.dirs == [str(tmp_path / "user.slice" / "r1ci-test")]
    assert (
        tmp_path / "user.slice" / "r1ci-test" / "cgroup.subtree_control"
    ).read_text() == "+memory +pids +cpu"
    slot = tree.slot(3)
    slot_dir = Path(tree.dirs[0]) / "slot3"
    assert slot.join_paths() == [str(slot_dir / "cgroup.procs")]
    # The kernel would provide these files; a regular file stands in for each.
    for name, text in {
        "memory.current": "1048576\n",
        "memory.max": "max\n",
        "memory.swap.max": "max\n",
        "pids.max": "max\n",
        "cpu.max": "max 100000\n",
        "memory.peak": "2097152\n",
        "memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        "cpu.stat": "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n",
    }.items():
        (slot_dir / name).write_text(text)
    fds = {key: os.open(path, os.O_RDWR) for key, path in slot.limit_paths().items()}
    try:
        limit = cgroups.write_limits(fds, memory_bytes=64 << 20, pids=32, cpus=1.5, version=2)
    finally:
        for fd in fds.values():
            os.close(fd)
    assert limit == (1 << 20) + (64 << 20)
    assert (slot_dir / "memory.max").read_text().startswith(str(limit))
    assert (slot_dir / "pids.max").read_text().startswith("32")
    assert (slot_dir / "cpu.max").read_text().startswith("150000 100000")
    assert (slot_dir / "memory.swap.max").read_text().startswith("0")
    counters = cgroups.Counters(slot.counter_paths(), 2)
    counters.reset()  # baselines: 1.5 CPU seconds and one OOM kill happened before this execution
    assert (slot_dir / "memory.peak").read_text().startswith("reset")  # the fd-local peak reset (6.12+)
    (slot_dir / "memory.peak").write_text("4194304\n")
    (slot_dir / "cpu.stat").write_text("usage_usec 2000000\n")
    (slot_dir / "memory.events").write_text("oom_kill 3\n")
    got = counters.read()
    assert got["cpu_s"] == pytest.approx(0.5) and got["oom_kills"] == 2
    assert got["peak_bytes"] == 4194304


def test_v2_refuses_when_controllers_are_not_delegated(tmp_path: Path) -> None:
    parent = _fake_v2(tmp_path)
    (parent / "cgroup.controllers").write_text("cpuset io\n")
    with pytest.raises(OSError, match="not delegated"):
        cgroups._create_v2("r1ci-test", {"": "/user.slice"}, str(tmp_path))


@pytest.mark.skipif(os.geteuid() != 0, reason="creating cgroups needs root or a delegated tree")
def test_probe_creates_and_removes_a_real_tree() -> None:
    tree, why = cgroups.probe()
    if tree is None:
        pytest.skip(f"no cgroup layer here: {why}")
    try:
        slot = tree.slot(0)
        assert all(os.path.isdir(d) for d in slot.dirs.values())
        assert slot.procs() == [] and slot.usage().oom_kills == 0
    finally:
        tree.remove()
    assert not any(os.path.exists(d) for d in tree.dirs)
