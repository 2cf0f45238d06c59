"""Stop for the in-process model, without the model: the flag llama.cpp's abort callback reads,
and how an abandoned step is told from a failed one."""

import ctypes

import pytest

from app.llm.llamacpp import CANCEL_SLICE, Cancelled, _cancellable, _StopFlag


def test_the_stop_byte_is_what_the_abort_callback_reads():
    flag = _StopFlag()
    libc = ctypes.CDLL(None)
    read = lambda: libc.strlen(ctypes.cast(flag._byte, ctypes.c_void_p))  # noqa: E731 - the callback's own call
    assert read() == 0 and not flag.is_set()
    flag.set()
    assert read() == 1 and flag.is_set()
    flag.clear()
    assert read() == 0 and not flag.is_set()


def test_a_step_abandoned_after_stop_ends_the_reading_and_a_failure_without_stop_is_raised():
    flag = _StopFlag()
    read: list[int] = []

    def evaluate(tokens):
        read.append(len(tokens))
        if len(read) == 2:  # Stop pressed while the second slice is read: llama.cpp abandons it
            flag.set()
            raise RuntimeError("llama_decode returned 2")  # what llama-cpp-python raises then

    with pytest.raises(Cancelled):
        _cancellable(evaluate, flag)(list(range(3 * CANCEL_SLICE)))
    assert read == [CANCEL_SLICE, CANCEL_SLICE]  # the third slice was never started

    def failing(tokens):
        raise RuntimeError("llama_decode returned -1")

    flag.clear()
    with pytest.raises(RuntimeError, match="returned -1"):
        _cancellable(failing, flag)([1, 2, 3])
