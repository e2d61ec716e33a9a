"""What a user's netlist may contain: an allow-list, applied the way ngspice reads a deck.

ngspice runs commands from a deck in more places than ``.control`` blocks, and every one of
them was reached by a hostile netlist through a word filter (each checked against libngspice
39 through this engine):

* a first line starting ``*ng_script`` (after blank lines and leading blanks) runs the whole
  file as a command script;
* comment lines starting ``*#`` (leading blanks allowed) are run as commands after loading;
* ``.control`` is matched as a prefix, in any case, after leading blanks (``.CONTROLX`` runs);
* ``.inc`` is matched as a prefix too (``.incx FILE`` includes FILE), and included files can
  hold any of the above; ``.lib FILE SECTION`` includes a section of FILE.

So a deck is read here as ngspice reads it: lines split the way the engine hands them over,
leading blanks skipped, case folded, ``+`` continuation lines joined to their card. Each card
must then be a comment, a circuit element of a supported kind, or one of the dot commands in
:data:`DOT_COMMANDS`; anything else is refused, and every included file, shipped ones too,
passes the same rules. Included files must lie in the netlist's own folder (or below it) or
in the shipped ``netlists/`` folder, after symbolic links are resolved. A deck may name a
shipped file by its bare name (``.lib ptm45.lib tt``) when its own folder has no file of
that name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..paths import netlist_dir
from .errors import NetlistError

# Dot commands a circuit deck may hold: analyses, outputs, parameters, models, structure.
# None of them runs a command or reads a file (.include/.lib are handled on their own).
DOT_COMMANDS = frozenset({
    ".op", ".dc", ".ac", ".tran", ".noise", ".pz", ".sens", ".tf", ".disto", ".four", ".pss", ".sp",
    ".print", ".plot", ".probe", ".save", ".width", ".meas", ".measure",
    ".param", ".func", ".csparam", ".options", ".option", ".opt", ".temp",
    ".model", ".subckt", ".ends", ".global", ".ic", ".nodeset", ".title", ".end",
    ".if", ".elseif", ".else", ".endif", ".lib", ".endl",
})
# Element letters ngspice knows, less N (OSDI devices, which load shared objects). A (XSPICE
# code-model instances) is allowed: what they may run is decided by their .model types.
ELEMENTS = frozenset("abcdefghijklmopqrstuvwxyz")
# .model types: ngspice's built-in devices, and the XSPICE code models that neither read a
# file (filesource, d_source, d_state, table2D/3D read theirs) nor start a process (d_process).
MODEL_TYPES = frozenset({
    "r", "c", "l", "sw", "csw", "urc", "ltra", "txl", "cpl", "d", "npn", "pnp", "njf", "pjf", "nmos", "pmos",
    "nmf", "pmf", "nhfet", "phfet", "vdmos", "isource", "vsource",
    "adc_bridge", "dac_bridge", "d_to_real", "real_to_d",
    "d_and", "d_nand", "d_or", "d_nor", "d_xor", "d_xnor", "d_inverter", "d_buffer", "d_open_c", "d_open_e",
    "d_tristate", "d_pullup", "d_pulldown", "d_dff", "d_jkff", "d_tff", "d_srff", "d_dlatch", "d_srlatch",
    "d_fdiv", "d_osc", "d_pwm", "d_lut", "d_genlut",
    "gain", "summer", "mult", "divide", "limit", "climit", "pwl", "int", "d_dt", "s_xfer", "slew", "hyst",
    "core", "sine", "triangle", "square", "oneshot", "ilimit", "zener", "aswitch", "cmeter", "lmeter", "sidiode",
})
# First words that are ngspice commands: as an element they would only fail to parse, but a
# user who wrote them meant a command, and the message says why there is none.
_COMMAND_WORDS = frozenset({"shell", "exec", "system", "codemodel", "osdi", "pre_osdi"})
_BLANKS = " \t"
# Characters Python splits lines at or ngspice would read as part of a word: refused, so the
# lines checked here are the lines ngspice gets.
_CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]|\r(?!\n)")
_MAX_DEPTH = 8  # include nesting a user netlist may have


@dataclass(frozen=True)
class Card:
    """One logical line of a deck: a card and its ``+`` continuations.

    ``line`` is the number of its first physical line (1-based); ``text`` has leading blanks
    removed and continuations joined with a space, in the file's own case.
    """

    line: int
    text: str
    last_line: int = 0  # its last physical line (continuations), 0: the same as ``line``

    @property
    def word(self) -> str:
        """The first word, lower-cased (``".include"``, ``"r1"``)."""
        return self.text.split(None, 1)[0].lower() if self.text else ""


@dataclass(frozen=True)
class Include:
    """A file a card pulls in: ``.include FILE``, ``.inc* FILE`` or ``.lib FILE SECTION``."""

    line: int
    keyword: str  # ".include", ".inc", ".lib", ... lower-cased
    name: str  # as written, quotes removed
    target: Path  # resolved (symbolic links followed)
    section: str  # the .lib section, "" for an include


def _refuse(source, line: int | None, reason: str):
    where = f"line {line}: " if line else ""
    return NetlistError(f"{where}{reason}", source=str(source))


def read_cards(text: str, *, source="<netlist>", has_title: bool = True,
               strict: bool = True) -> tuple[Card | None, list[Card]]:
    """Split a deck into ``(title, cards)`` as ngspice reads it.

    ``has_title``: the first non-blank line is the title (a top-level deck), not a card
    (included files have none). Comment cards are kept; blank lines are dropped. ``strict``
    refuses control characters (which split lines differently for Python and ngspice).
    """
    bad = strict and _CONTROL_CHARACTER.search(text)
    if bad:
        raise _refuse(source, text.count("\n", 0, bad.start()) + 1,
                      f"control character {bad.group()!r} in a netlist (only tab is allowed)")
    title, cards = None, []
    for number, raw in enumerate(text.splitlines(), start=1):  # the lines the engine hands ngspice
        stripped = raw.lstrip(_BLANKS)
        if not stripped:
            continue
        if has_title and not title and not cards:
            title = Card(number, stripped)
            continue
        if stripped.startswith("+"):
            previous = next((i for i in range(len(cards) - 1, -1, -1) if not cards[i].text.startswith("*")), None)
            if previous is None:
                raise _refuse(source, number, "a '+' continuation line with no card before it")
            joined = f"{cards[previous].text} {stripped[1:].lstrip(_BLANKS)}"
            cards[previous] = Card(cards[previous].line, joined, number)
            continue
        cards.append(Card(number, stripped))
    return title, cards


def _include_of(card: Card, folder: Path, source, *, shipped: bool = False) -> Include | None:
    """The file a card pulls in, or None; the path is resolved against ``folder``, and with
    ``shipped`` (a top-level deck, whose include lines the engine makes absolute) a bare
    file name that is not there but is one of the shipped ``netlists/`` (``ptm45.lib``)
    names that one."""
    word = card.word
    if not (word.startswith(".inc") or word == ".lib"):
        return None
    rest = _strip_inline_comment(card.text[len(word):]).strip(_BLANKS)
    tokens = _tokens(rest)
    if not tokens:
        if word == ".lib":
            raise _refuse(source, card.line, ".lib needs a section name, or a file and a section")
        raise _refuse(source, card.line, f"{word} needs a file name")
    name = tokens[0]
    target = Path(name).expanduser()
    if not target.is_absolute():
        target = folder / target
    if word == ".lib" and len(tokens) == 1 and "/" not in name and not target.exists():
        return None  # '.lib tt' opens a section of a library file (a file of that name is checked)
    if shipped and not target.exists() and "/" not in name and (netlist_dir() / name).is_file():
        target = netlist_dir() / name
    if card.last_line:
        raise _refuse(source, card.line, f"write {word} on one line (not continued with '+')")
    try:
        target = target.resolve()
    except (OSError, RuntimeError) as error:  # RuntimeError: a symbolic-link loop
        raise _refuse(source, card.line, f"cannot resolve included file {name}: {error}") from None
    return Include(card.line, word, name, target, tokens[1] if word == ".lib" and len(tokens) > 1 else "")


def _strip_inline_comment(text: str) -> str:
    # ngspice's in-line comments: ';' anywhere, '$' or '//' after a blank
    return re.sub(r"(;|(?<=\s)\$|(?<=\s)//).*$", "", text)


def _tokens(text: str) -> list[str]:
    """Words of a card's arguments, quoted names ('...' or "...") kept whole."""
    return [a or b or c for a, b, c in re.findall(r"\"([^\"]*)\"|'([^']*)'|(\S+)", text)]


def _check_card(card: Card, source) -> None:
    text, word = card.text, card.word
    if text.startswith("*"):
        if text.startswith("*#"):
            raise _refuse(source, card.line, "ngspice runs comment lines starting '*#' as commands; "
                                             "a netlist is data")
        if text.lower().startswith("*ng_script"):
            raise _refuse(source, card.line, "*ng_script marks a command script; a netlist is data")
        return
    if "\\" in text:
        raise _refuse(source, card.line, "backslash in a netlist card (ngspice un-escapes it, so the card "
                                         "would not read as written)")
    if word.startswith("."):
        for block in (".control", ".endc", ".exec"):
            if word.startswith(block):
                raise _refuse(source, card.line, f"{block} blocks are not allowed in a netlist (a netlist is "
                                                 f"data; the sweep spec says what to run)")
        if word == ".model":
            _check_model(card, source)
        if word.startswith(".inc") or word in DOT_COMMANDS:
            return
        raise _refuse(source, card.line, f"{word} is not a dot command cimspice accepts in a netlist "
                                         f"(accepted: .include, {', '.join(sorted(DOT_COMMANDS))})")
    if word in _COMMAND_WORDS:
        raise _refuse(source, card.line, f"{word!r} is an ngspice command, and a netlist holds no commands")
    if word[0] not in ELEMENTS:
        raise _refuse(source, card.line, f"{word!r} is neither a circuit element, a comment nor a dot "
                                         f"command")


def _check_model(card: Card, source) -> None:
    """A .model card's type must be in :data:`MODEL_TYPES`."""
    match = re.match(r"\.model\s+\S+\s+([^\s(]+)", card.text, re.IGNORECASE)
    if not match:
        raise _refuse(source, card.line, ".model needs a name and a type")
    kind = match.group(1).lower()
    if kind not in MODEL_TYPES:
        reason = ("reads a file or starts a process"
                  if kind in ("filesource", "d_source", "d_state", "table2d", "table3d", "d_process")
                  else "is not one cimspice knows")
        raise _refuse(source, card.line, f"model type {kind!r} {reason}; accepted: ngspice's devices and the "
                                         f"XSPICE code models that do neither")


def _read(path: Path, source) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NetlistError("no such netlist file", source=str(source)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise NetlistError(f"cannot read netlist: {error}", source=str(source)) from None


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def check_deck(text: str, folder: Path, *, source="<netlist>",
               allowed: tuple[Path, ...] | None = None) -> list[Include]:
    """Refuse a deck (and, recursively, every file it includes) that breaks the allow-list.

    Parameters
    ----------
    text : the deck, its first non-blank line the title.
    folder : where relative include paths start (the deck file's folder).
    source : the name errors give (the file path).
    allowed : folders included files must lie in; default ``folder`` and the shipped ``netlists/``.

    Returns
    -------
    The files the deck includes directly (as :func:`includes` finds them).

    Raises
    ------
    NetlistError
        ``FILE: line N: reason`` for the first card that breaks a rule, in whichever file.
    """
    folder = folder.resolve()
    allowed = allowed or (folder, netlist_dir().resolve())
    return _check_text(text, folder, source, allowed, has_title=True, seen=set(), chain=())


def _check_text(text, folder, source, allowed, *, has_title, seen, chain) -> list[Include]:
    if len(chain) > _MAX_DEPTH:
        raise _refuse(source, None, f"includes nested more than {_MAX_DEPTH} deep")
    title, cards = read_cards(text, source=source, has_title=has_title)
    if title is not None and title.text.lower().startswith("*ng_script"):
        raise _refuse(source, title.line, "a title starting *ng_script makes ngspice run the file as a command "
                                          "script; a netlist is data")
    for card in cards:
        _check_card(card, source)
    found = []
    for card in cards:
        include = _include_of(card, folder, source, shipped=has_title)
        if include is None:
            continue
        found.append(include)
        if not any(_is_within(include.target, root) for root in allowed):
            shown = include.name if include.name == str(include.target) else f"{include.name} (= {include.target})"
            raise _refuse(source, card.line, f"include {shown} lies outside the netlist's folder {allowed[0]} "
                                             f"and the shipped {allowed[-1]}")
        if not include.target.is_file():
            raise _refuse(source, card.line, f"included file {include.target} not found")
        if (include.target, include.section) in chain:
            raise _refuse(source, card.line, f"include {include.name} includes itself (through "
                                             f"{' -> '.join(p.name for p, _ in chain)}): ngspice would not stop")
        if include.target not in seen:
            seen.add(include.target)
            _check_text(_read(include.target, include.target), include.target.parent, include.target, allowed,
                        has_title=False, seen=seen, chain=(*chain, (include.target, include.section)))
    return found


def includes(text: str, folder: Path, *, has_title: bool = True) -> Iterator[Include]:
    """Every file a deck pulls in directly (for fingerprints and absolute paths), unchecked."""
    _, cards = read_cards(text, has_title=has_title, strict=False)
    for card in cards:
        if not card.text.startswith("*"):
            include = _include_of(card, folder, "<netlist>", shipped=has_title)
            if include is not None:
                yield include
