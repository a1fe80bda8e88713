"""The probe battery: bad inputs aimed at the entry points, run as a user runs them.

A :class:`Probe` runs one script of ``tools/`` or ``demo/`` as ``python SCRIPT ARGS`` would
(in-process through ``runpy``, or in a child process with a time limit when ``isolated``) and
:func:`run_probe` sorts the outcome into one of :data:`OUTCOMES`:

- ``clear_error``: non-zero exit, no traceback, and the output names every string of
  ``mentions`` (the input and the fix);
- ``error_after_traceback``: the right words, but after a raw traceback;
- ``unclear_traceback``: a traceback that does not name them;
- ``unclear_error``: non-zero exit without traceback that does not name them;
- ``exit0_wrong``: exit 0 where an error was expected, or ``check`` failed after exit 0;
- ``hang``: the isolated child ran past ``timeout``;
- ``handled``: a legitimate input (``expect='handled'``) that ran and passed ``check``.

Every outcome is recorded in :data:`RESULTS`; ``conftest.py`` prints the counts at the end
of the session (the summary in the issue's table form).
"""
import contextlib
import io
import os
import runpy
import subprocess
import sys
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[2]

OUTCOMES = ('clear_error', 'error_after_traceback', 'unclear_traceback', 'unclear_error',
            'exit0_wrong', 'hang', 'handled')

#: (probe id, outcome) of every probe run in this session
RESULTS: List[Tuple[str, str]] = []


@dataclass
class Probe:
    """One bad (or legitimate) input.

    Args:
        id: a short name, used as the pytest id.
        script: path of the script relative to the repository (``'tools/test.py'``).
        build: ``build(tmp_path) -> argv`` prepares the files the probe needs under
            ``tmp_path`` and returns the arguments after the script name.
        mentions: strings the message must contain (case-insensitive), e.g. the file name.
        expect: ``'clear_error'`` for a user error, ``'handled'`` for legitimate input.
        check: ``check(tmp_path)`` run after the probe; raises ``AssertionError`` when
            something was lost, overwritten or is wrong (run whatever the exit code).
        isolated: run in a child process (needed for hangs, signals and global state).
        timeout: seconds before an isolated probe counts as a hang.
    """
    id: str
    script: str
    build: Callable[[Path], Sequence[str]]
    mentions: Tuple[str, ...] = ()
    expect: str = 'clear_error'
    check: Optional[Callable[[Path], None]] = None
    isolated: bool = False
    timeout: float = 120.0
    env: dict = field(default_factory=dict)


@dataclass
class ProbeResult:
    outcome: str
    exit_code: Optional[int]
    output: str

    def explain(self) -> str:
        return f'outcome {self.outcome}, exit {self.exit_code}; output:\n{self.output[-3000:]}'


def _run_in_process(script: Path, argv: Sequence[str]) -> Tuple[Optional[int], str]:
    out = io.StringIO()
    saved_argv, saved_path0 = sys.argv, sys.path[0]
    sys.argv = [str(script), *argv]
    sys.path[0] = str(script.parent)
    code: Optional[int] = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                runpy.run_path(str(script), run_name='__main__')
            except SystemExit as exit_:
                if exit_.code is None or isinstance(exit_.code, int):
                    code = exit_.code or 0
                else:  # sys.exit('message') prints the message and exits 1
                    print(exit_.code, file=sys.stderr)
                    code = 1
            except BaseException:  # noqa: B902 - an escaped exception is a traceback
                traceback.print_exc()
                code = 1
    finally:
        sys.argv, sys.path[0] = saved_argv, saved_path0
    return code, out.getvalue()


def _run_isolated(script: Path, argv: Sequence[str], probe: Probe) -> Tuple[Optional[int], str]:
    environ = dict(os.environ, OMP_NUM_THREADS='1', **probe.env)
    environ['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO), environ.get('PYTHONPATH')]))
    try:
        done = subprocess.run([sys.executable, str(script), *argv], cwd=REPO, env=environ,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=probe.timeout)
    except subprocess.TimeoutExpired as expired:
        return None, (expired.stdout or b'').decode() if isinstance(expired.stdout, bytes) \
            else (expired.stdout or '')
    return done.returncode, done.stdout


def run_probe(probe: Probe, tmp_path: Path) -> ProbeResult:
    """Run ``probe`` in ``tmp_path``, classify it, record it in :data:`RESULTS`."""
    script = REPO / probe.script
    argv = [str(arg) for arg in probe.build(tmp_path)]
    if probe.isolated:
        code, output = _run_isolated(script, argv, probe)
    else:
        code, output = _run_in_process(script, argv)
    named = all(m.lower() in output.lower() for m in probe.mentions)
    traced = 'Traceback (most recent call last)' in output
    check_error = None
    if probe.check is not None:
        try:
            probe.check(tmp_path)
        except AssertionError as error:
            check_error = error
    if code is None:
        outcome = 'hang'
    elif code == 0:
        handled = probe.expect == 'handled' and check_error is None
        outcome = 'handled' if handled else 'exit0_wrong'
    elif traced:
        outcome = 'error_after_traceback' if named else 'unclear_traceback'
    else:
        outcome = 'clear_error' if named else 'unclear_error'
    if check_error is not None and outcome in ('clear_error', 'handled'):
        outcome = 'exit0_wrong' if code == 0 else 'unclear_error'
        output += f'\n[check failed: {check_error}]'
    RESULTS.append((probe.id, outcome))
    return ProbeResult(outcome, code, output)


def assert_probe(probe: Probe, tmp_path: Path) -> ProbeResult:
    """Run ``probe`` and require the outcome it expects."""
    result = run_probe(probe, tmp_path)
    assert result.outcome == probe.expect, result.explain()
    return result


def summary() -> str:
    """One line per outcome class with its count, for the end of the session."""
    counts = Counter(outcome for _, outcome in RESULTS)
    lines = [f'probe battery: {len(RESULTS)} probes']
    lines += [f'  {name:<22} {counts.get(name, 0)}' for name in OUTCOMES]
    return '\n'.join(lines)
