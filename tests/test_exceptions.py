"""ferrocan's exceptions: python-can's names, hierarchy and ``error_code``,
defined once in ferrocan.exceptions (ferrocan needs no python-can) and raised
by both backends; the python-can plugin turns them into python-can's own."""

from __future__ import annotations

import errno
import subprocess
import sys

import can
import ferrocan
import pytest
from ferrocan import exceptions, pythoncan

NAMES = [
    "CanError",
    "CanInterfaceNotImplementedError",
    "CanInitializationError",
    "CanOperationError",
    "CanTimeoutError",
]

#: python-can 4.x's hierarchy (can/exceptions.py): every class a CanError,
#: two of them also a built-in exception.
BASES = {
    "CanError": (Exception,),
    "CanInterfaceNotImplementedError": (exceptions.CanError, NotImplementedError),
    "CanInitializationError": (exceptions.CanError,),
    "CanOperationError": (exceptions.CanError,),
    "CanTimeoutError": (exceptions.CanError, TimeoutError),
}


@pytest.mark.parametrize("name", NAMES)
def test_the_hierarchy_is_python_cans(name: str) -> None:
    ours = getattr(exceptions, name)
    theirs = getattr(can, name)
    assert getattr(ferrocan, name) is ours
    assert ours.__bases__ == BASES[name]
    assert [base.__name__ for base in ours.__mro__] == [base.__name__ for base in theirs.__mro__]


def test_catching_the_builtin_bases_works() -> None:
    with pytest.raises(NotImplementedError):
        raise ferrocan.CanInterfaceNotImplementedError("no such backend")
    with pytest.raises(TimeoutError):
        raise ferrocan.CanTimeoutError("too slow")
    for name in NAMES[1:]:
        with pytest.raises(ferrocan.CanError):
            raise getattr(ferrocan, name)("any")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), (("it failed",), {}), (("it failed", 42), {}), ((), {"error_code": 7})],
)
def test_message_and_error_code_behave_as_python_cans(
    name: str, args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    ours = getattr(exceptions, name)(*args, **kwargs)
    theirs = getattr(can, name)(*args, **kwargs)
    assert str(ours) == str(theirs)
    assert ours.error_code == theirs.error_code
    assert ours.args == theirs.args


def test_the_error_code_is_appended_to_the_message() -> None:
    error = ferrocan.CanOperationError(message="Failed to do the thing", error_code=42)
    assert str(error) == "Failed to do the thing [Error Code 42]"
    assert error.error_code == 42
    plain = ferrocan.CanError("Something went wrong ...")
    assert str(plain) == "Something went wrong ..." and plain.error_code is None


@pytest.mark.parametrize("backend", ["native", "ctypes"])
def test_both_backends_raise_these_classes_with_the_errno(backend: str) -> None:
    with pytest.raises(ferrocan.CanInitializationError) as raised:
        ferrocan.Bus("nosuch0", backend=backend)
    assert type(raised.value) is exceptions.CanInitializationError
    assert raised.value.error_code == errno.ENODEV
    assert str(raised.value).endswith(f"[Error Code {errno.ENODEV}]")
    bus = ferrocan.Bus("vcan0", backend=backend)
    bus.shutdown()
    with pytest.raises(ferrocan.CanOperationError) as shut:
        bus.send(ferrocan.Message())
    assert type(shut.value) is exceptions.CanOperationError
    assert shut.value.error_code is None
    assert str(shut.value) == (
        "the bus on 'vcan0' is shut down; open a new Bus to use the interface again"
    )


@pytest.mark.parametrize("name", NAMES)
def test_the_python_can_plugin_translates_to_python_cans_class(name: str) -> None:
    for error in (getattr(exceptions, name)("it failed", 5), getattr(exceptions, name)("x")):
        translated = pythoncan.translate(error)
        assert type(translated) is getattr(can, name)
        assert (str(translated), translated.error_code) == (str(error), error.error_code)


def test_ferrocan_imports_without_python_can() -> None:
    """ferrocan's exceptions are its own: importing it must not import can."""
    code = "import sys, ferrocan; assert 'can' not in sys.modules, 'python-can was imported'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
