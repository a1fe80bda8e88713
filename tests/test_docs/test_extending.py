"""docs/extending.md: its examples run and do what the page says (run_extending_examples.py)."""
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_extending_examples_train_and_sample():
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name('run_extending_examples.py')),
         str(REPO_ROOT / 'docs' / 'extending.md')],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'extending.md examples: OK' in result.stdout
