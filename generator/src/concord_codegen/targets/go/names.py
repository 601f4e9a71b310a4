"""Go naming for the Go SDK target: exported names with initialisms, safe parameter names."""

from __future__ import annotations

from concord_codegen import naming

# Words written in capitals in Go names (Effective Go, golint's list, plus the contract's own).
INITIALISMS = frozenset(
    {
        "acl", "api", "ascii", "cpu", "css", "dns", "eof", "grpc", "guid", "html", "http",
        "https", "id", "ip", "json", "jwt", "lhs", "qps", "ram", "rbac", "rhs", "rpc", "sla",
        "smtp", "sql", "ssh", "tcp", "tls", "ttl", "udp", "ui", "uid", "uri", "url", "utf8",
        "uuid", "vm", "xml", "xmpp", "xsrf", "xss",
    }
)  # fmt: skip
SPECIAL_WORDS = {"etag": "ETag"}

# Go keywords and the identifiers generated method bodies use, never taken by a parameter.
RESERVED = frozenset(
    {
        "break", "case", "chan", "const", "continue", "default", "defer", "else",
        "fallthrough", "for", "func", "go", "goto", "if", "import", "interface", "map",
        "package", "range", "return", "select", "struct", "switch", "type", "var",
        "any", "bool", "byte", "error", "false", "iota", "nil", "string", "true",
        "ctx", "opts", "params", "s", "q", "op", "out", "err", "page", "token", "p",
        "url", "fmt", "json", "time", "iter", "context", "http", "strconv",
    }
)  # fmt: skip


def _word(word: str, first_lower: bool) -> str:
    """One word of a Go name."""
    if first_lower:
        return word.lower()
    if word in SPECIAL_WORDS:
        return SPECIAL_WORDS[word]
    if word in INITIALISMS:
        return word.upper()
    return word.capitalize()


def exported(name: str) -> str:
    """`key_id` -> `KeyID`, `ApiKey` -> `APIKey`, `etag` -> `ETag`."""
    return "".join(_word(w, False) for w in naming.words(name))


def unexported(name: str) -> str:
    """`key_id` -> `keyID`, `url` -> `url` (lower camel case with initialisms)."""
    parts = naming.words(name)
    if not parts:
        return ""
    return _word(parts[0], True) + "".join(_word(w, False) for w in parts[1:])


def parameter(name: str) -> str:
    """A function parameter name that collides with no keyword or generated identifier."""
    candidate = unexported(name)
    return candidate + "Arg" if candidate in RESERVED else candidate


def comment(text: str, prefix: str = "") -> list[str]:
    """Doc text as Go comment lines (without `// `), optionally led by `prefix`."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    if prefix:
        lines = [f"{prefix} {lines[0]}" if lines else prefix, *lines[1:]]
    return lines


# Leading words of a doc sentence that name what the thing is ("A held lock." -> "Lock is a
# held lock.") or what it tells ("What happened to a lock." -> "... tells what happened ...").
_ARTICLES = frozenset({"a", "an", "the", "one", "every", "each", "all", "some", "no"})
_QUESTIONS = frozenset({"what", "whether", "how", "which", "who", "when", "where", "why"})


def _lower_first(text: str) -> str:
    """`Acquires a lock` -> `acquires a lock`; `API keys` stays (an initialism)."""
    head = text.split(" ", 1)[0]
    if len(head) > 1 and head[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def godoc(name: str, text: str, service: bool = False) -> list[str]:
    """Doc lines of a declaration that start with its name and read as a sentence:
    `Acquire acquires a lock...`, `Lock is a held lock.`, `LockEventType tells what happened`,
    `LockService serves named locks...`."""
    lines = comment(text or name)
    first = lines[0] if lines else ""
    word = first.split(" ", 1)[0].lower()
    if not first or word == name.lower():
        return lines or [name]
    if word in _ARTICLES:
        lead = f"{name} is {_lower_first(first)}"
    elif word in _QUESTIONS:
        lead = f"{name} tells {_lower_first(first)}"
    elif service:
        lead = f"{name} serves {_lower_first(first)}"
    elif word.endswith("s") and not word.endswith("ss"):
        lead = f"{name} {_lower_first(first)}"  # a verb: "Returns ..." -> "X returns ..."
    else:
        lead = f"{name} is for {_lower_first(first)}"
    return [lead, *lines[1:]]
