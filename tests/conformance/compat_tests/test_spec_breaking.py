"""`make spec-breaking` on a scratch repository holding this checkout's spec: a deliberately
deleted field is a breaking change against the last release tag, and against the merge base
with main on a branch; a contract version bump lets it pass."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LOCKS = "spec/proto/concord/v1/locks.proto"
TTL_FIELD = "  google.protobuf.Duration ttl = 6;\n"


def git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True).stdout


def scratch_repo(tmp_path: Path) -> Path:
    """A repository with the spec, the scripts spec-breaking needs and this checkout's buf."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    for name in ("lib.sh", "baseline.sh", "spec-breaking.sh"):
        shutil.copy(ROOT / "scripts" / name, repo / "scripts" / name)
    shutil.copytree(
        ROOT / "spec", repo / "spec", ignore=shutil.ignore_patterns("openapi", "graphql")
    )
    (repo / "tools").symlink_to(ROOT / "tools")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "scripts", "spec")
    git(repo, "commit", "-qm", "contract")
    return repo


def delete_ttl(repo: Path) -> None:
    path = repo / LOCKS
    text = path.read_text(encoding="utf-8")
    assert TTL_FIELD in text
    path.write_text(text.replace(TTL_FIELD, ""), encoding="utf-8")


def spec_breaking(repo: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k != "CONCORD_BASELINE"}
    done = subprocess.run(
        ["bash", "scripts/spec-breaking.sh"],
        check=False,
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stdout + done.stderr


def test_a_deleted_field_breaks_against_the_release_tag_unless_the_version_is_bumped(
    tmp_path: Path,
) -> None:
    repo = scratch_repo(tmp_path)
    git(repo, "tag", "v0.1.0")
    git(repo, "commit", "-q", "--allow-empty", "-m", "later work on main")
    assert spec_breaking(repo)[0] == 0
    delete_ttl(repo)
    git(repo, "commit", "-qam", "drop Lock.ttl")
    code, output = spec_breaking(repo)
    assert code == 100, output
    assert "release tag v0.1.0" in output
    assert 'Previously present field "6" with name "ttl"' in output
    (repo / "spec" / "VERSION").write_text("0.2.0\n", encoding="utf-8")
    code, output = spec_breaking(repo)
    assert code == 0, output
    assert "allowed: the contract version went from 0.1.0 to 0.2.0" in output


def test_on_a_branch_without_tags_the_merge_base_with_main_is_the_baseline(
    tmp_path: Path,
) -> None:
    repo = scratch_repo(tmp_path)
    git(repo, "checkout", "-qb", "feature")
    delete_ttl(repo)
    git(repo, "commit", "-qam", "drop Lock.ttl")
    code, output = spec_breaking(repo)
    assert code == 100, output
    assert "merge base with main" in output
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "feature")
    code, output = spec_breaking(repo)
    assert code == 0, output  # on main, once committed, only a release tag remembers the old field
