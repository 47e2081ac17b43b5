"""Safe YAML loading for every file a user links to: size cap, no anchors, one mapping.

Anchors and aliases are refused from the parser's event stream, before any node or Python
object is built: composed nodes do not remember anchor names, and events are the only place
an unused anchor is visible. The composed node graph is then checked for its shape (one
mapping) and for duplicate keys before the safe constructor turns it into Python objects.
"""

from __future__ import annotations

from typing import Any

import yaml

# libyaml is much faster on large files; the pure-Python loader behaves the same.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# No real configuration comes close; the cap keeps the pure-Python loader (which has no
# nesting limit of its own) away from Python's recursion limit.
MAX_DEPTH = 100

_COLLECTION_STARTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_NULL_TAG = "tag:yaml.org,2002:null"


class YamlError(Exception):
    """A file that is not acceptable YAML, explained in plain words."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        if line is not None and column is not None:
            message = f"{message} (line {line}, column {column})"
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def describe_size(n_bytes: int) -> str:
    """Return a byte count the way people say it: "1 MiB", "64 KiB", "100 bytes"."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n_bytes >= size and n_bytes % size == 0:
            return f"{n_bytes // size} {unit}"
    return f"{n_bytes} bytes"


def load_mapping(
    text: bytes | str, *, what: str, max_bytes: int = 1 << 20, allow_empty: bool = False
) -> dict:
    """Load one YAML document that must be a mapping, refusing anything risky or ambiguous.

    Args:
        text: the raw file (bytes must be UTF-8).
        what: how messages name the file, e.g. "the configuration file" or "paths.yaml".
        max_bytes: size cap, checked before any parsing.
        allow_empty: return {} for an empty (or whitespace/comment-only, or null) file.

    Raises:
        YamlError: with line and column whenever the parser provides them.
    """
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if len(raw) > max_bytes:
        raise YamlError(f"{what} is larger than the {describe_size(max_bytes)} limit")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _position(raw[: exc.start].decode("utf-8"))
        raise YamlError(
            f"{what} is not valid UTF-8 text; save it as UTF-8 and try again", line, column
        ) from None
    # A byte-order mark is legal UTF-8 but means nothing to YAML readers downstream.
    decoded = decoded.removeprefix("\ufeff")

    _check_events(decoded, what)
    loader = _Loader(decoded)
    try:
        node = loader.get_single_node()
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
            if allow_empty:
                return {}
            raise YamlError(f"{what} is empty")
        if not isinstance(node, yaml.MappingNode):
            kind = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
            raise YamlError(
                f"{what} must be a mapping of names to values, not {kind}", *_mark(node.start_mark)
            )
        _check_duplicate_keys(node, what)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _translate(exc, what, decoded) from None
    except ValueError as exc:
        # The safe constructor raises ValueError for values such as the date 2024-02-30.
        raise YamlError(f"{what} holds a value YAML cannot read: {exc}") from None
    finally:
        loader.dispose()
    return data


def _check_events(text: str, what: str) -> None:
    """Refuse anchors, aliases, extra documents and deep nesting from the event stream.

    The event stream is read before any node or Python object exists, so a "billion laughs"
    file (aliases of aliases) is refused at its first anchor without expanding anything.
    """
    depth = 0
    documents = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                raise YamlError(
                    f"{what} uses a YAML alias (*{event.anchor}); aliases are not allowed, "
                    "write the value out in full",
                    *_mark(event.start_mark),
                )
            if getattr(event, "anchor", None) is not None:
                raise YamlError(
                    f"{what} uses a YAML anchor (&{event.anchor}); anchors are not allowed, "
                    "write the value out in full",
                    *_mark(event.start_mark),
                )
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise YamlError(
                        f"{what} holds more than one YAML document; keep only one "
                        "(a second document starts here)",
                        *_mark(event.start_mark),
                    )
            elif isinstance(event, _COLLECTION_STARTS):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlError(
                        f"{what} is nested more than {MAX_DEPTH} levels deep",
                        *_mark(event.start_mark),
                    )
            elif isinstance(event, _COLLECTION_ENDS):
                depth -= 1
    except yaml.YAMLError as exc:
        raise _translate(exc, what, text) from None


def _check_duplicate_keys(root: yaml.Node, what: str) -> None:
    """Refuse a mapping that names the same key twice; YAML would silently keep the last."""
    # Iterative walk: the depth is capped already, but a loop costs nothing and cannot recurse.
    pending: list[yaml.Node] = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, yaml.MappingNode):
            seen: set[tuple[str, str]] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    # Same tag and text is the same key; "1" and 1 differ, as YAML says.
                    ident = (key.tag, key.value)
                    if ident in seen:
                        raise YamlError(
                            f"{what} names '{key.value}' twice in the same mapping",
                            *_mark(key.start_mark),
                        )
                    seen.add(ident)
                pending.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)


def _translate(exc: yaml.YAMLError, what: str, text: str) -> YamlError:
    """Turn a PyYAML exception into a YamlError with a plain sentence and a position."""
    if isinstance(exc, YamlError):
        return exc
    if isinstance(exc, yaml.reader.ReaderError):
        return YamlError(
            f"{what} contains a control character YAML does not allow (code {exc.character:#x})",
            *_position(text[: exc.position]),
        )
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = exc.problem or exc.context or "unreadable YAML"
        if isinstance(exc, yaml.constructor.ConstructorError):
            return YamlError(
                f"{what} uses a YAML feature that is not allowed: {problem}",
                *_mark(exc.problem_mark),
            )
        return YamlError(f"{what} is not valid YAML: {problem}", *_mark(exc.problem_mark))
    return YamlError(f"{what} is not valid YAML: {exc}")


def _mark(mark: Any) -> tuple[int | None, int | None]:
    """Return a parser mark as 1-based (line, column), or (None, None) without one."""
    if mark is None:
        return None, None
    return mark.line + 1, mark.column + 1


def _position(prefix: str) -> tuple[int, int]:
    """Return the 1-based (line, column) just after the decoded text ``prefix``."""
    line = prefix.count("\n") + 1
    column = len(prefix) - (prefix.rfind("\n") + 1) + 1
    return line, column
