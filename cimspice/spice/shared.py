"""PySpice's binding to libngspice (``NgSpiceShared``: ctypes/cffi plumbing, vector access)
with the callbacks the engine needs and no others (:mod:`.engine` drives it)."""

from __future__ import annotations

import logging
import os
import tempfile
import threading

from .errors import EngineUnavailableError


def pyspice_ffi():
    """PySpice's cffi ``FFI`` of libngspice's API."""
    from PySpice.Spice.NgSpice.Shared import ffi

    return ffi


def make_shared():
    """PySpice's NgSpiceShared with the console and thread callbacks replaced."""
    try:
        from PySpice.Spice.NgSpice.Shared import NgSpiceShared
    except Exception as error:  # noqa: BLE001 - any import failure means no engine
        raise EngineUnavailableError(f"PySpice cannot be imported: {error}") from None
    ffi = pyspice_ffi()

    class _Shared(NgSpiceShared):
        # Called by libngspice for every console line. PySpice's version flags any stderr
        # line as an error; here lines are only collected, and log.classify() judges them.
        @staticmethod
        def _send_char(message_c, ngspice_id, user_data):
            self = ffi.from_handle(user_data)
            self._lines.append(ffi.string(message_c).decode("utf-8", "replace"))
            return 0

        @staticmethod
        def _background_thread_running(not_running, ngspice_id, user_data):
            if not_running:  # libngspice passes true when the background thread ends
                ffi.from_handle(user_data)._bg_done.set()
            return 0

        def _get_version(self):
            self._ngspice_version = 39  # the real version is read by Engine; PySpice only needs a key

        def _init_ngspice(self, send_data):
            # PySpice's registers every callback. Two cost time and are never read here: the
            # progress one (ngspice then times and formats a status string at each transient
            # time point: 2 % of a small transient's instructions, callgrind) and the per-plot
            # vector description. External sources still read PySpice's (zero) callbacks.
            new = ffi.callback
            self._send_char_c = new("int (char *, int, void *)", self._send_char)
            self._exit_c = new("int (int, bool, bool, int, void *)", self._exit)
            self._background_thread_running_c = new("int (bool, int, void *)", self._background_thread_running)
            self._get_vsrc_data_c = new("int (double *, double, char *, int, void *)", self._get_vsrc_data)
            self._get_isrc_data_c = new("int (double *, double, char *, int, void *)", self._get_isrc_data)
            self._self_c = handle = ffi.new_handle(self)
            self._ngspice_id = ident = ffi.new("int *", 0)
            lib, null = self._ngspice_shared, ffi.NULL
            if (lib.ngSpice_Init(self._send_char_c, null, self._exit_c, null, null,
                                 self._background_thread_running_c, handle)
                    or lib.ngSpice_Init_Sync(self._get_vsrc_data_c, self._get_isrc_data_c, null, ident, handle)):
                raise OSError("ngSpice_Init failed")
            lib.ngSpice_Command(b"set nomoremode")  # no paging of long outputs (it would wait)

        def __init__(self):
            self._lines = []
            self._bg_done = threading.Event()
            super().__init__(ngspice_id=0, send_data=False)

    logging.getLogger("PySpice").setLevel(logging.ERROR)
    # ngspice runs ".spiceinit" from the working directory and from HOME when it starts,
    # shell commands included: a netlist folder must not be able to run code that way.
    # Start it in an empty folder with HOME pointing there.
    cwd, home = os.getcwd(), os.environ.get("HOME")
    try:
        with tempfile.TemporaryDirectory(prefix="cimspice-ngspice-") as empty:
            os.chdir(empty)
            os.environ["HOME"] = empty
            try:
                return _Shared()
            finally:
                os.chdir(cwd)
                if home is None:
                    os.environ.pop("HOME", None)
                else:
                    os.environ["HOME"] = home
    except OSError as error:
        raise EngineUnavailableError(
            f"libngspice could not be loaded ({error}); install Debian's ngspice libngspice0 libngspice0-dev"
        ) from None
