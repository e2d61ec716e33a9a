"""`cimspice circuits [NAME | FILE.cir]`: the registered circuits, one circuit's parameters,
arguments and outputs, and the same view of a user's netlist (checked before ngspice sees it)."""

from __future__ import annotations

import argparse
import re

import pytest

from cimspice import circuits_cmd
from cimspice.circuits import CIRCUITS, CircuitError
from cimspice.spice import NetlistError


def circuits(capsys, *argv: str) -> str:
    """Output of ``cimspice circuits ARGV`` through the command's own parser entry."""
    parser = argparse.ArgumentParser(prog="cimspice")
    circuits_cmd.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["circuits", *argv])
    assert args.func(args) == 0
    return capsys.readouterr().out


def row(*cells: str) -> re.Pattern:
    """A table row holding ``cells`` in order, separated by column padding."""
    return re.compile(r"^\s+" + r"\s+".join(map(re.escape, cells)) + r"(\s|$)", re.MULTILINE)


def test_without_a_name_every_registered_circuit_is_listed_once(capsys):
    out = circuits(capsys)
    names = [line.split()[0] for line in out.splitlines() if line and not line.startswith(" ")][:len(CIRCUITS)]
    assert names == list(CIRCUITS)
    assert re.search(r"^cell_1t1r\s+A sized 1T1R cell on the shipped 45 nm BSIM4 cards", out, re.MULTILINE)


def test_a_registered_circuit_shows_parameters_arguments_and_outputs(capsys):
    out = circuits(capsys, "cell_1t1r")
    assert row("v_bl", "V", "0.2", "[0, 1]", "linear", "bit-line (driven row) voltage").search(out)
    assert row("g", "S", "1e-05", "[1e-06, 0.0001]", "log").search(out)
    assert row("temp", "degC", "27", "[-40, 125]").search(out)
    assert row("w", "float", "4.5e-07", "Access transistor width and length (m).").search(out)
    assert row("corner", '{"tt", "ff", "ss"}', "'tt'", "Process corner of the transistor cards.").search(out)
    assert row("i_cell", "A", "cell current from the bit line into the sense line").search(out)


def test_arguments_passed_on_to_a_base_class_are_shown_with_its_docs(capsys):
    out = circuits(capsys, "adc_sar")
    assert row("c_unit", "float", "5e-15", "Unit capacitor (F), 5 fF:").search(out)
    assert row("adc_bits", "int", "4", "Resolution (bits).").search(out)      # documented by ADC
    assert row("mismatch_seed", "int, optional", "None").search(out)          # ADC's keyword
    assert row("inl_max", "LSB").search(out)
    assert "**sizes" in circuits(capsys, "opamp")                            # its own, not passed on


def test_a_user_netlist_shows_params_units_vectors_includes_and_analyses(tmp_path, capsys):
    (tmp_path / "load.inc").write_text("* a load\n.subckt load x\nrl x 0 10k\n.ends\n")
    (tmp_path / "div.cir").write_text("divider\n.include load.inc\n.param r2=1k vin=600mV gain={2*r2}\n"
                                      "V1 a 0 dc {vin}\nR1 a b 1k\nR2 b 0 {r2}\nX1 b load\n.tran 1n 10n\n.end\n")
    out = circuits(capsys, str(tmp_path / "div.cir"))
    assert row("r2", "-", "1k").search(out) and row("vin", "V", "600mV").search(out)
    assert row("gain", "-", "{2*r2}").search(out) and row("temp", "degC", "27").search(out)
    assert "unknown for r2, gain: declare them in the sweep spec" in out
    assert re.search(r"^\s+v\(a\), v\(b\), i\(v1\)$", out, re.MULTILINE)
    assert f"includes: {(tmp_path / 'load.inc').resolve()}" in out
    assert "analyses in the deck: .tran 1n 10n" in out


def test_a_netlist_the_sandbox_refuses_never_reaches_ngspice(tmp_path, capsys):
    (tmp_path / "bad.cir").write_text(f"bad\nR1 a 0 1k\n.control\nshell touch {tmp_path / 'ran'}\n.endc\n.end\n")
    with pytest.raises(NetlistError, match=r"bad.cir: line 3: .control blocks are not allowed"):
        circuits(capsys, str(tmp_path / "bad.cir"))
    assert not (tmp_path / "ran").exists()


def test_an_unknown_name_is_one_line_with_the_close_matches(capsys):
    with pytest.raises(CircuitError) as info:
        circuits(capsys, "cell_1tr1")
    message = str(info.value)
    assert "\n" not in message and message.startswith("unknown circuit 'cell_1tr1' (known: adc_flash, ")
    assert message.endswith("; did you mean 'cell_1t1r'?")
