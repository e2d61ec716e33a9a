"""``cimspice circuits [NAME | FILE.cir]``: what can be swept, and how to write its spec.

Without an argument: the registered circuits (:data:`cimspice.circuits.CIRCUITS`), one a
line. With a name: its parameters (unit, default, bounds, scale), its constructor arguments
(a spec's ``circuit_args``, from the signature and docstring) and its outputs with units.
With a netlist file: its ``.param`` parameters (defaults as written, units where the values
say them), the vectors it can record (read from an operating point of the netlist, which
the sandbox checks first), its includes and the analyses it holds.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from .circuits import CIRCUITS, get_circuit
from .circuits.signature import REQUIRED, constructor_args, plain
from .circuits.user import param_values, value_unit

#: File name endings read as netlists rather than circuit names.
NETLIST_SUFFIXES = (".cir", ".sp", ".spi", ".spice", ".net", ".ckt", ".lib")
#: Analysis cards of a deck (ngspice's own; a sweep runs the spec's analysis, not these).
ANALYSES = (".op", ".dc", ".ac", ".tran", ".noise", ".tf", ".pz", ".sens", ".disto", ".pss", ".sp")
#: Most vectors listed for a netlist (a transistor netlist has many internal ones).
MAX_VECTORS = 60
#: Seconds the netlist's operating point may take before the vectors are left unlisted.
OP_TIMEOUT = 10.0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``circuits`` to the ``cimspice`` sub-commands; it runs :func:`run`."""
    p = subparsers.add_parser(
        "circuits", help="the registered circuits; one circuit's or a netlist's parameters, arguments and outputs",
        description="Without an argument: the registered circuits. With a circuit name: its parameters (unit, "
                    "default, bounds, scale), constructor arguments and outputs. With a netlist file: its .param "
                    "parameters, the vectors it can record, its includes and analyses.")
    p.add_argument("circuit", nargs="?", metavar="NAME | FILE.cir", help="a registered circuit or a netlist file")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    """Print the view ``args.circuit`` asks for (see the module docstring); 0 on success.
    An unknown name or a refused netlist raises a :class:`~cimspice.CimspiceError`."""
    target = getattr(args, "circuit", None)
    if not target:
        print(list_circuits())
    elif target not in CIRCUITS and is_netlist(target):
        print(describe_netlist(Path(target)))
    else:
        print(describe_circuit(target))
    return 0


def is_netlist(target: str) -> bool:
    """A netlist file rather than a circuit name: a path, a netlist's file ending, or a file."""
    path = Path(target)
    return "/" in target or path.suffix.lower() in NETLIST_SUFFIXES or path.is_file()


def table(header: tuple[str, ...], rows: list[tuple[str, ...]], indent: str = "  ") -> str:
    """Rows under a header, columns padded to their widest cell (the last column not)."""
    rows = [header, *rows]
    widths = [max(len(r[k]) for r in rows) for k in range(len(header) - 1)]
    return "\n".join(indent + "  ".join([*(c.ljust(w) for c, w in zip(r, widths)), r[-1]]).rstrip() for r in rows)


def _number(value) -> str:
    if isinstance(value, float):
        return "inf" if value == math.inf else "-inf" if value == -math.inf else f"{value:g}"
    return repr(value)


def _summary(cls) -> str:
    """The first line of a circuit class's docstring, as plain text."""
    return plain((cls.__doc__ or "").strip().splitlines()[0]) if cls.__doc__ else ""


def list_circuits() -> str:
    """One line per registered circuit: its name and what it is."""
    width = max(map(len, CIRCUITS))
    lines = [f"{name.ljust(width)}  {_summary(cls)}" for name, cls in CIRCUITS.items()]
    return "\n".join([*lines, "", f"{len(CIRCUITS)} circuits: `cimspice circuits NAME` shows one (parameters, "
                      "arguments, outputs); `cimspice circuits FILE.cir` a netlist of your own."])


def describe_circuit(name: str) -> str:
    """Parameters, constructor arguments and outputs of the registered circuit ``name``, built
    with its defaults. An unknown name raises :class:`~cimspice.circuits.CircuitError`
    naming the close matches."""
    circuit = get_circuit(name)
    cls = type(circuit)
    params = [(p.name, p.unit or "-", _number(p.default), f"[{_number(p.bounds[0])}, {_number(p.bounds[1])}]",
               p.scale, p.description) for p in circuit.parameters]
    args = [(a.name, a.kind or "-", "" if a.default is REQUIRED else _number(a.default), a.doc)
            for a in constructor_args(cls)]
    outputs = [(m.name, m.unit or "-", m.description) for m in circuit.measurements]
    return "\n".join([
        f"{name}: {_summary(cls)}", "",
        "parameters (a sweep spec's `parameters:`; values in the unit shown)",
        table(("name", "unit", "default", "bounds", "scale", "description"), params), "",
        "constructor arguments (a sweep spec's `circuit_args:`; parameters above are for these defaults)",
        table(("name", "type", "default", "description"), args) if args else "  none", "",
        "outputs (a sweep spec's `outputs:`; default: all)",
        table(("name", "unit", "description"), outputs),
    ])


def describe_netlist(path: Path) -> str:
    """The view of a user netlist: ``.param`` parameters, recordable vectors, includes and
    analyses. The deck passes the sandbox (:func:`~cimspice.spice.netlist.prepare_netlist`)
    before ngspice sees it; a refused deck raises its :class:`~cimspice.spice.NetlistError`."""
    from .spice.netlist import declared_params, prepare_netlist
    from .spice.sandbox import includes, read_cards

    text, _ = prepare_netlist(path)  # checked here: never run an unchecked deck
    title, cards = read_cards(text, source=str(path))
    values = param_values(text)
    names = declared_params(text)
    rows = [(n, value_unit(values.get(n, "")) or "-", values.get(n, "?")) for n in names]
    if "temp" not in names:
        rows.append(("temp", "degC", "27 (ngspice's; the circuit temperature)"))
    unknown = [n for n in names if not value_unit(values.get(n, ""))]
    found = [f"{i.target}" + (f" (section {i.section})" if i.section else "") for i in includes(text, path.parent)]
    analyses = [c.text for c in cards if c.word in ANALYSES]
    return "\n".join([
        f"{path.name}: user netlist {path.resolve()}" + (f", title {title.text!r}" if title else ""), "",
        "parameters (its top-level .param lines; a sweep spec's `parameters:`)",
        table(("name", "unit", "default as written"), rows) if rows else "  none: nothing to sweep but temp", "",
        _units_note(names, unknown), "",
        "vectors it can record (a sweep spec's `outputs:`)",
        _vectors(text, str(path)), "",
        "includes: " + ("; ".join(found) if found else "none"),
        "analyses in the deck: " + ("; ".join(analyses) if analyses else "none") +
        " (a sweep runs the spec's `analysis:`, op by default, or any of op, dc, ac, noise, tran)",
    ])


def _units_note(names: list[str], unknown: list[str]) -> str:
    """What is known of the parameters' units: SPICE carries none but the letters after a
    value (``vin=600mV``); the others are declared in the sweep spec."""
    if not unknown:
        return "units: every parameter's value says its unit" if names else "units: -"
    first = unknown[0]
    return (f"units: a netlist says a unit only by the letters after a .param value (vin=600mV); unknown for "
            f"{', '.join(unknown)}: declare them in the sweep spec, e.g. `{first}: {{values: [...], unit: SYMBOL}}`")


def _vectors(text: str, source: str) -> str:
    """The vectors of the netlist's operating point at its defaults, as a spec names them."""
    from .spice import SpiceError, get_engine
    from .spice.engine import _as_written  # the engine's own spelling of a vector (v(out), i(v1))

    try:
        engine = get_engine()
    except SpiceError as error:  # no ngspice here: the rest of the view stands
        return f"  unknown: {str(error).splitlines()[0]}"
    try:
        engine.load(text, source=source, trusted=True)  # checked by prepare_netlist
        keys = list(engine.op(timeout=OP_TIMEOUT).vectors)
    except SpiceError as error:
        return f"  unknown: the operating point at the defaults failed ({str(error).splitlines()[0]})"
    finally:
        engine.remove()
    written = sorted({_as_written(k) for k in keys}, key=lambda v: (v.startswith("i("), v))
    inner = [v for v in written if "#" in v]  # devices' internal nodes (mn#body): rarely an output
    shown = [v for v in written if "#" not in v]
    more = [f"{len(shown) - MAX_VECTORS} more"] if len(shown) > MAX_VECTORS else []
    more += [f"{len(inner)} device-internal nodes such as {inner[0]}"] if inner else []
    return "  " + ", ".join(shown[:MAX_VECTORS]) + (f" (and {'; '.join(more)})" if more else "")
