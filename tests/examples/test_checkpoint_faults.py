"""Checkpoint faults: disk full, read-only folders, truncated or hostile files, orphaned temporary files."""

from __future__ import annotations

import os
import tempfile

import pytest
import torch

from examples.common.checkpoint import (
    CheckpointError,
    check_writable,
    checkpoint_paths,
    load_checkpoint,
    load_latest,
    remove_orphans,
    save_checkpoint,
)


def _state(value: float = 1.0) -> dict:
    return {"models": {"G": {"w": torch.full((4, 4), value)}}}


def test_disk_full_names_the_file_and_the_reason_and_keeps_the_earlier_checkpoint(tmp_path, monkeypatch):
    save_checkpoint(tmp_path, 2, _state(2.0))
    before = (tmp_path / "step_00000002.pt").read_bytes()
    real_mkstemp = tempfile.mkstemp

    def mkstemp_on_a_full_disk(*args, **kwargs):
        fd, path = real_mkstemp(*args, **kwargs)  # the temporary file exists, but every write fails with ENOSPC
        os.close(fd)
        return os.open("/dev/full", os.O_WRONLY), path

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp_on_a_full_disk)
    with pytest.raises(CheckpointError, match=r"step_00000004\.pt: No space left on device; the earlier checkpoint"):
        save_checkpoint(tmp_path, 4, _state(4.0))
    assert [p.name for p in tmp_path.iterdir()] == ["step_00000002.pt"]  # no temporary file, nothing pruned
    assert (tmp_path / "step_00000002.pt").read_bytes() == before


def test_a_folder_that_cannot_be_written_fails_at_the_check_with_its_name(tmp_path, monkeypatch):
    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(CheckpointError, match=rf"cannot write to {tmp_path / 'ckpt'}: Permission denied"):
        check_writable(tmp_path / "ckpt")


def test_a_file_in_the_way_of_the_folder_fails_the_check(tmp_path):
    (tmp_path / "checkpoints").write_text("not a folder")
    with pytest.raises(CheckpointError, match=r"cannot write to .*checkpoints"):
        check_writable(tmp_path / "checkpoints")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_fails_the_check(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(CheckpointError, match="Permission denied"):
            check_writable(folder)
    finally:
        folder.chmod(0o700)


def test_a_truncated_latest_checkpoint_falls_back_to_the_previous_one_with_a_warning(tmp_path, capsys):
    save_checkpoint(tmp_path, 2, _state(2.0))
    save_checkpoint(tmp_path, 4, _state(4.0))
    latest = tmp_path / "step_00000004.pt"
    latest.write_bytes(latest.read_bytes()[:300])
    path, state = load_latest(tmp_path)
    assert path == tmp_path / "step_00000002.pt"
    assert state["step"] == 2
    assert torch.equal(state["models"]["G"]["w"], torch.full((4, 4), 2.0))
    warning = capsys.readouterr().err
    assert f"warning: checkpoint {latest}: it is unreadable" in warning
    assert warning.count("\n") == 1


def test_no_intact_checkpoint_is_one_error_naming_every_file(tmp_path):
    for step in (2, 4):
        save_checkpoint(tmp_path, step, _state())
        (tmp_path / f"step_{step:08d}.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match=r"no checkpoint in .* loads: .*step_00000004\.pt.*step_00000002\.pt"):
        load_latest(tmp_path)


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_a_hostile_checkpoint_is_refused_without_advice_to_disable_weights_only(tmp_path):
    path = tmp_path / "step_00000003.pt"
    torch.save({"step": 3, "evil": _Payload()}, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message
    assert "weights-only load refuses" in message
    assert "weights_only=False" not in message
    assert "\n" not in message


def test_a_file_that_is_not_a_checkpoint_is_named(tmp_path):
    path = tmp_path / "step_00000001.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match=r"step_00000001\.pt: it is not a checkpoint of these trainers"):
        load_checkpoint(path)


def test_orphaned_temporary_files_are_removed_and_checkpoints_kept(tmp_path):
    save_checkpoint(tmp_path, 1, _state())
    (tmp_path / ".tmp_abcd.pt").write_bytes(b"half a checkpoint")
    (tmp_path / ".tmp_efgh.json").write_text("{")
    removed = remove_orphans(tmp_path)
    assert sorted(p.name for p in removed) == [".tmp_abcd.pt", ".tmp_efgh.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["step_00000001.pt"]
    assert checkpoint_paths(tmp_path) == [tmp_path / "step_00000001.pt"]
