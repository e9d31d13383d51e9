"""Readers for the deployment files, so tests can check what an image or a router would do without Docker.

- ``Dockerfile``: stages, ARG/ENV with Docker's variable expansion, ENTRYPOINT/CMD/HEALTHCHECK, COPY
  sources, and mapping an image path back to the repository file it was copied from;
- ``.dockerignore``: which repository paths reach the build context;
- nginx: block and directive lookup (the router itself is tested with a real nginx: test_router_nginx.py).
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parents[2]

# ------------------------------------------------------------------------------------------ Dockerfile


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, ENV, ...
    args: str  # the rest of the (joined) line
    line: int  # 1-based line where the instruction starts


@dataclass
class Stage:
    base: str  # as written, variables unexpanded
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


@dataclass
class Dockerfile:
    global_args: dict[str, str]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(f"no stage {name!r}; stages: {[s.name for s in self.stages]}")


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join backslash continuations; drop comment lines (also inside continuations) and blank lines."""
    out: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not buffer):
            continue
        if not buffer:
            start = number
        if raw.rstrip().endswith("\\"):
            buffer.append(raw.rstrip()[:-1])
            continue
        buffer.append(raw)
        out.append((start, " ".join(part.strip() for part in buffer if part.strip())))
        buffer = []
    if buffer:
        out.append((start, " ".join(part.strip() for part in buffer if part.strip())))
    return out


def parse_dockerfile(path: Path = REPO / "Dockerfile") -> Dockerfile:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line, text in _logical_lines(path.read_text()):
        keyword, _, args = text.partition(" ")
        keyword = keyword.upper()
        args = args.strip()
        if keyword == "FROM":
            parts = args.split()
            parts = [p for p in parts if not p.startswith("--")]
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base=parts[0], name=name))
        elif not stages:
            if keyword != "ARG":
                raise ValueError(f"line {line}: only ARG may come before the first FROM, not {keyword}")
            key, _, value = args.partition("=")
            global_args[key.strip()] = _unquote(value.strip())
        else:
            stages[-1].instructions.append(Instruction(keyword, args, line))
    return Dockerfile(global_args, stages)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


_VAR = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:[-+])?(?P<word>[^}]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def expand(value: str, variables: dict[str, str], keep_unknown: bool = True) -> str:
    """Docker's variable substitution: $VAR, ${VAR}, ${VAR:-default}, ${VAR:+alternative}."""

    def replace(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("plain")
        known = name in variables
        current = variables.get(name, "")
        op = match.group("op")
        if op == ":-":
            return current if current else match.group("word")
        if op == ":+":
            return match.group("word") if current else ""
        if not known and keep_unknown:
            return match.group(0)
        return current

    return _VAR.sub(replace, value)


def stage_args(dockerfile: Dockerfile, stage: Stage, build_args: dict[str, str] | None = None) -> dict[str, str]:
    """The ARG values visible at the end of ``stage`` (global defaults, stage defaults, --build-arg)."""
    given = build_args or {}
    values: dict[str, str] = {}
    for instruction in stage.all("ARG"):
        key, eq, default = instruction.args.partition("=")
        key = key.strip()
        if key in given:
            values[key] = given[key]
        elif eq:
            values[key] = _unquote(default.strip())
        elif key in dockerfile.global_args:
            values[key] = given.get(key, dockerfile.global_args[key])
    return values


def stage_env(dockerfile: Dockerfile, stage: Stage, build_args: dict[str, str] | None = None) -> dict[str, str]:
    """ENV of ``stage`` (this stage's ENV instructions only), values expanded as the builder would."""
    args = stage_args(dockerfile, stage, build_args)
    env: dict[str, str] = {}
    for instruction in stage.all("ENV"):
        for token in shlex.split(instruction.args):
            key, eq, value = token.partition("=")
            if not eq:
                raise ValueError(f"line {instruction.line}: use ENV KEY=VALUE, not the legacy form")
            env[key] = expand(value, {**args, **env})
    return env


def exec_form(instruction: Instruction | None) -> list[str]:
    if instruction is None:
        return []
    value = json.loads(instruction.args)
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise ValueError(f"line {instruction.line}: {instruction.keyword} must be a JSON array of strings")
    return value


@dataclass(frozen=True)
class Healthcheck:
    options: dict[str, str]
    command: list[str]


def healthcheck(stage: Stage) -> Healthcheck | None:
    instruction = stage.last("HEALTHCHECK")
    if instruction is None:
        return None
    options: dict[str, str] = {}
    rest = instruction.args
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        key, _, value = option[2:].partition("=")
        options[key] = value
        rest = rest.strip()
    keyword, _, command = rest.partition(" ")
    if keyword.upper() != "CMD":
        raise ValueError(f"line {instruction.line}: HEALTHCHECK must run a CMD")
    return Healthcheck(options, json.loads(command))


@dataclass(frozen=True)
class Copy:
    sources: list[str]
    dest: str
    flags: dict[str, str]


def copies(stage: Stage) -> list[Copy]:
    found: list[Copy] = []
    for instruction in stage.all("COPY"):
        parts = instruction.args.split()
        flags = {}
        while parts and parts[0].startswith("--"):
            key, _, value = parts.pop(0)[2:].partition("=")
            flags[key] = value
        found.append(Copy(parts[:-1], parts[-1], flags))
    return found


def repo_file_for(stage: Stage, image_path: str) -> Path:
    """The repository file that ``stage`` copies (from the build context) to ``image_path``."""
    target = PurePosixPath(image_path)
    for copy in copies(stage):
        if "from" in copy.flags:
            continue
        for source in copy.sources:
            if copy.dest.endswith("/") or len(copy.sources) > 1:
                dest = PurePosixPath(copy.dest) / PurePosixPath(source).name
            else:
                dest = PurePosixPath(copy.dest)
            if dest == target:
                return REPO / source
    raise KeyError(f"{image_path} is not copied from the build context in stage {stage.name!r}")


_INSTALL = re.compile(r"install -D(?: -m \d+)?(?: -t (?P<dir>\S+))? (?P<rest>[^&;]+)")


def image_file(dockerfile: Dockerfile, image_path: str) -> Path:
    """The repository file behind ``image_path`` of the final image: COPY'd from the build context, or
    placed by ``install -D ... /opt/image/<path>`` in the builder and copied with ``COPY --from=builder
    /opt/image/ /`` (how the image gets executable scripts without ``COPY --chmod``)."""
    with contextlib.suppress(KeyError):
        return repo_file_for(dockerfile.final, image_path)
    staged = {
        c.sources[0].rstrip("/") for c in copies(dockerfile.final) if c.flags.get("from") == "builder" and c.dest == "/"
    }
    for run in dockerfile.stage("builder").all("RUN"):
        for match in _INSTALL.finditer(run.args):
            words = match.group("rest").split()
            if match.group("dir"):
                pairs = [(w, f"{match.group('dir')}/{PurePosixPath(w).name}") for w in words]
            else:
                pairs = [(words[0], words[1])]
            for source, dest in pairs:
                for root in staged:
                    if dest == root + image_path:
                        return REPO / source
    raise KeyError(f"{image_path}: neither copied from the context nor staged under /opt/image by the builder")


# ------------------------------------------------------------------------------------------ .dockerignore


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def dockerignore_rules(path: Path = REPO / ".dockerignore") -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        rules.append((exclude, _pattern_regex(pattern)))
    return rules


def in_build_context(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its parent folders decides."""
    parts = PurePosixPath(relative).parts
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for exclude, regex in rules:
        if any(regex.match(c) for c in candidates):
            excluded = exclude
    return not excluded


# ------------------------------------------------------------------------------------------ nginx


def strip_nginx_comments(text: str) -> str:
    return "\n".join(line.split("#", 1)[0].rstrip() for line in text.splitlines())


def nginx_block(text: str, header: str) -> str:
    """The body of the first ``header { ... }`` block (nested braces allowed)."""
    clean = strip_nginx_comments(text)
    start = re.search(re.escape(header) + r"\s*\{", clean)
    if start is None:
        raise KeyError(f"no block {header!r}")
    depth = 0
    for index in range(start.end() - 1, len(clean)):
        if clean[index] == "{":
            depth += 1
        elif clean[index] == "}":
            depth -= 1
            if depth == 0:
                return clean[start.end() : index]
    raise ValueError(f"unbalanced braces after {header!r}")


def nginx_directives(block: str, name: str) -> list[list[str]]:
    """Arguments of every ``name ...;`` directive directly in ``block`` text (not in nested blocks)."""
    flat = re.sub(r"\{[^{}]*\}", ";", block)
    while "{" in flat:
        flat = re.sub(r"\{[^{}]*\}", ";", flat)
    found = []
    for statement in flat.split(";"):
        tokens = statement.split()
        if tokens and tokens[0] == name:
            found.append(tokens[1:])
    return found
