"""The netlist sandbox against hostile decks.

Every payload tries to create a marker file. Each is first shown to be live: loaded into
libngspice without the sandbox (``trusted=True``, in a fresh process), it creates its marker.
Then ``cimspice sweep`` on a spec naming it must exit non-zero with one line naming the file,
the line and the reason, and the marker must never appear.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from cimspice.spice.errors import NetlistError
from cimspice.spice.sandbox import check_deck, read_cards

BODY = ".param vin=1\nV1 a 0 dc {vin}\nR1 a 0 1k\n"


def payloads(marker):
    """name -> (files {name: text}, the file and line the refusal names, a fragment of the reason)."""
    assert str(marker) == str(marker).lower(), "ngspice lower-cases the deck: a marker path must be lower case"
    shell = f"shell touch {marker}"
    control = f".control\n{shell}\n.endc\n"
    return {
        "ng_script title": ({"bench.cir": f"*ng_script\n{shell}\n{BODY}"}, "bench.cir", 1, "*ng_script"),
        "ng_script after blanks": ({"bench.cir": f"\n \n*NG_SCRIPT\n{shell}\n{BODY}"}, "bench.cir", 3,
                                   "*ng_script"),
        "star-hash command": ({"bench.cir": f"bench\n{BODY}*# {shell}\n"}, "bench.cir", 5, "'*#'"),
        "indented star-hash": ({"bench.cir": f"bench\n{BODY}   *#{shell}\n"}, "bench.cir", 5, "'*#'"),
        "indented upper-case control": ({"bench.cir": f"bench\n{BODY}\t .CONTROL\n{shell}\n.endc\n"},
                                        "bench.cir", 5, ".control blocks"),
        "control as a prefix": ({"bench.cir": f"bench\n{BODY}.controlx\n{shell}\n.endc\n"}, "bench.cir", 5,
                                ".control blocks"),
        "escaped shell": ({"bench.cir": f"bench\n{BODY}.control\nsh\\ell touch {marker}\n.endc\n"},
                          "bench.cir", 5, ".control blocks"),
        "vertical tab splits a line": ({"bench.cir": f"bench\n{BODY}R9 a 0 1k\x0b.control\n{shell}\n.endc\n"},
                                       "bench.cir", 5, "control character"),
        "incx of a control block": ({"bench.cir": f"bench\n{BODY}.incx {{dir}}/evil.inc\n", "evil.inc": control},
                                    "evil.inc", 1, ".control blocks"),
        "nested include": ({"bench.cir": f"bench\n{BODY}.include {{dir}}/a.inc\n",
                            "a.inc": "* fine\n.inc {dir}/b.inc\n", "b.inc": f"R2 a 0 2k\n*# {shell}\n"},
                           "b.inc", 2, "'*#'"),
        "lib section with a control block": ({"bench.cir": f"bench\n{BODY}.lib {{dir}}/evil.lib sec\n",
                                              "evil.lib": f".lib sec\n{control}.endl\n"},
                                             "evil.lib", 2, ".control blocks"),
    }


def write(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text.replace("{dir}", str(tmp_path)))


def test_payloads_are_live_without_the_sandbox(tmp_path):
    """The oracle that the payloads are real: ngspice runs each of them when nothing checks.

    ``ngspice -b`` reads the deck as the engine hands it over (Python's line split, blank
    lines dropped), in an empty folder that is also HOME (no .spiceinit).
    """
    home = tmp_path / "home"
    home.mkdir()
    dead = []
    for name, (files, *_) in payloads(tmp_path / "marker").items():
        folder = tmp_path / name.replace(" ", "_")
        folder.mkdir()
        marker = folder / "marker"
        write(folder, {k: v.replace(str(tmp_path / "marker"), str(marker)) for k, v in files.items()})
        deck = folder / "bench.cir"
        deck.write_text("\n".join(ln for ln in deck.read_text().splitlines() if ln.strip()) + "\n.end\n")
        subprocess.run(["ngspice", "-b", str(deck)], cwd=home, env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
                       capture_output=True, timeout=60)
        if not marker.exists():
            dead.append(name)
    assert not dead, f"payloads ngspice did not run (no longer tests of anything): {dead}"


@pytest.mark.parametrize("case", list(payloads("m")))
def test_sweep_refuses_payload(tmp_path, case):
    marker = tmp_path / "marker"
    files, culprit, line, reason = payloads(marker)[case]
    write(tmp_path, files)
    (tmp_path / "spec.yaml").write_text("netlist: bench.cir\nparameters:\n  vin: {values: [1.0]}\n"
                                        "outputs:\n  i: {vector: 'i(v1)', unit: A}\n")
    run = subprocess.run([sys.executable, "-m", "cimspice.cli", "sweep", str(tmp_path / "spec.yaml"), "-o",
                          str(tmp_path / "out.h5"), "--no-progress"], capture_output=True, text=True, timeout=120)
    assert not marker.exists()
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert f"{culprit}: line {line}: " in lines[0] and reason in lines[0], lines[0]
    assert not (tmp_path / "out.h5").exists()


def test_include_outside_is_refused_without_echoing_the_file(tmp_path):
    (tmp_path / "bench.cir").write_text(f"bench\n{BODY}.incx /etc/passwd\n")
    with pytest.raises(NetlistError) as error:
        check_deck((tmp_path / "bench.cir").read_text(), tmp_path, source=tmp_path / "bench.cir")
    message = str(error.value)
    assert "line 5: include /etc/passwd lies outside the netlist's folder" in message
    assert "root:" not in message


@pytest.mark.parametrize("deck, reason", [
    (f"bench\n{BODY}.include\n+ /etc/passwd\n", "line 5: write .include on one line"),
    (f"bench\n{BODY}a1 %v([a]) src\n.model src filesource (file=\"/etc/passwd\")\n",
     "line 6: model type 'filesource' reads a file or starts a process"),
    (f"bench\n{BODY}a1 [a] [b] p\n.model p d_process(process_file=\"sh\")\n", "line 6: model type 'd_process'"),
    (f"bench\n{BODY}.model m1 nmos2 level=54\n", "line 5: model type 'nmos2' is not one cimspice knows"),
    (f"bench\n{BODY}.exec\n", "line 5: .exec blocks are not allowed"),
    (f"bench\n{BODY}.hdl 'dev.osdi'\n", "line 5: .hdl is not a dot command cimspice accepts"),
    (f"bench\n{BODY}+ R3 a 0 1k\n".replace(BODY, ""), "line 2: a '+' continuation line with no card before it"),
    (f"bench\n{BODY}#R3 a 0 1k\n", "line 5: '#r3' is neither a circuit element"),
])
def test_cards_outside_the_allow_list(tmp_path, deck, reason):
    with pytest.raises(NetlistError, match=reason.replace("[", r"\[").replace("+", r"\+")):
        check_deck(deck, tmp_path, source="bench.cir")


def test_include_cycle_is_refused(tmp_path):
    (tmp_path / "a.inc").write_text("R1 a 0 1k\n.include b.inc\n")
    (tmp_path / "b.inc").write_text("R2 a 0 1k\n.include a.inc\n")
    with pytest.raises(NetlistError, match="includes itself"):
        check_deck(f"bench\n{BODY}.include a.inc\n", tmp_path, source="bench.cir")


def test_ordinary_decks_pass(tmp_path):
    """What designers write: comments of every kind, continuations, subcircuits, sections, options."""
    (tmp_path / "models.lib").write_text("* models\n.lib tt\n.model d1 d is=1e-14\n.endl\n.lib ss\n"
                                         ".model d1 d is=2e-14\n.endl\n")
    deck = ("* a title that says shell and .control\n"
            "* comment: shell, exec, # and *ng_script in the middle are only words\n"
            ".lib models.lib tt\n.options reltol=1e-5 ; in-line comment\n"
            ".param vin=1 r1={2*vin}\n.subckt div in out r=1k\nR1 in out {r}\nR2 out 0\n+ {r} $ continued\n"
            ".ends\nV1 a 0 dc {vin}\nX1 a b div r=2k\nD1 b 0 d1\n.save v(b)\n.end\n")
    check_deck(deck, tmp_path, source="bench.cir")
    title, cards = read_cards(deck)
    assert title.line == 1 and title.text.startswith("* a title")
    assert any(c.text == "R2 out 0 {r} $ continued" and c.line == 8 and c.last_line == 9 for c in cards)


def test_a_shipped_file_is_found_by_its_bare_name_in_the_deck_only(tmp_path):
    """`.lib ptm45.lib tt` names the shipped cards when the netlist's folder has no such file;
    a file of that name beside the netlist wins; an included file gets no such fallback (the
    engine rewrites only the deck's own include lines, so ngspice could not find it)."""
    from cimspice.paths import netlist_path
    from cimspice.spice.netlist import prepare_netlist

    (tmp_path / "a.cir").write_text("a\n.lib ptm45.lib tt\nV1 a 0 1\nR1 a 0 1k\n.end\n")
    text, _ = prepare_netlist(tmp_path / "a.cir")
    assert f'.lib "{netlist_path("ptm45.lib")}" tt' in text.splitlines()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "ptm45.lib").write_text(".lib tt\n.param own=1\n.endl tt\n")
    (tmp_path / "b" / "b.cir").write_text("b\n.lib ptm45.lib tt\nV1 a 0 1\nR1 a 0 1k\n.end\n")
    text, _ = prepare_netlist(tmp_path / "b" / "b.cir")
    assert f'.lib "{tmp_path / "b" / "ptm45.lib"}" tt' in text.splitlines()
    (tmp_path / "sub.inc").write_text(".lib ptm45.lib tt\n")
    (tmp_path / "c.cir").write_text("c\n.include sub.inc\nV1 a 0 1\nR1 a 0 1k\n.end\n")
    with pytest.raises(NetlistError, match="sub.inc: line 1: included file .*ptm45.lib not found"):
        prepare_netlist(tmp_path / "c.cir")
