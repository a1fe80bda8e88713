"""run_cli and report_user_errors: a user error is one line on stderr and exit status 1;
--debug raises; bugs keep their traceback."""
import pytest

from sar_mm.datasets.errors import UnreadableImageError
from sar_mm.utils import ConversionError
from sar_mm.utils.checkpoint_io import CheckpointMismatchError
from sar_mm.utils.cli_errors import report_user_errors, run_cli, user_error_message


def _raising(error: BaseException):
    def main(argv):
        raise error
    return main


@pytest.mark.parametrize('error,line', [
    (ValueError('--box (0, 0, 3, 8) lies outside'), 'error: --box (0, 0, 3, 8) lies outside'),
    (KeyError("the config has no key 'foo'"), "error: the config has no key 'foo'"),
    (FileNotFoundError(2, 'No such file or directory', 'cfg.py'),
     "error: [Errno 2] No such file or directory: 'cfg.py'"),
    (UnreadableImageError('a.png', 'truncated'), 'error: cannot read image a.png: truncated'),
    (CheckpointMismatchError('x.pth does not fit'), 'error: x.pth does not fit'),
])
def test_user_error_is_one_line(error, line, capsys):
    assert run_cli(_raising(error), ['config.py']) == 1
    captured = capsys.readouterr()
    assert captured.out == ''
    assert captured.err.splitlines() == [f'{line} (--debug shows the traceback)']


def test_debug_raises_the_error_itself():
    with pytest.raises(ValueError, match='bad'):
        run_cli(_raising(ValueError('bad')), ['config.py', '--debug'])


def test_a_bug_keeps_its_traceback():
    with pytest.raises(AttributeError):
        run_cli(_raising(AttributeError('no attribute backbone')), [])


def test_status_of_main():
    assert run_cli(lambda argv: 3, []) == 3
    assert run_cli(lambda argv: None, []) == 0
    assert run_cli(lambda argv: dict(fid=1.0), []) == 0  # tools/test.py returns its metrics


def test_error_from_a_dataloader_worker_is_reduced_to_its_message():
    """torch re-raises a worker's error with the worker's whole traceback in the message."""
    wrapped = ValueError('Caught ValueError in DataLoader worker process 0.\nOriginal Traceback '
                         '(most recent call last):\n  File "x.py", line 1, in f\n    g()\n'
                         'ValueError: b.png is 48x32 px but a.png is 32x32')
    assert user_error_message(wrapped) == 'b.png is 48x32 px but a.png is 32x32'


def test_report_user_errors_exits_with_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        with report_user_errors(debug=False):
            raise ConversionError('out.pth is the input: choose another output path')
    assert exit_.value.code == 1
    assert capsys.readouterr().err == ('error: out.pth is the input: choose another output path '
                                       '(--debug shows the traceback)\n')
    with pytest.raises(ConversionError):
        with report_user_errors(debug=True):
            raise ConversionError('x')
