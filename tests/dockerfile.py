"""Reading the Dockerfile the way Docker does, so its commands can be run outside Docker.

Only what our Dockerfile uses: comments, line continuations, instructions with
shell-form or JSON-array (exec-form) arguments, stages (``FROM ... AS name``).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: RUN, COPY, ENV...
    arguments: str  # as written, continuations joined

    def exec_form(self) -> list[str]:
        """The JSON-array arguments (``CMD ["a", "b"]``); ValueError for the shell form."""
        text = self.arguments
        if self.keyword == "HEALTHCHECK":  # options first, then CMD [...]
            text = text.split("CMD", 1)[1]
        parsed = json.loads(text.strip())
        if not isinstance(parsed, list) or not all(isinstance(p, str) for p in parsed):
            raise ValueError(f"{self.keyword} is not in exec form: {self.arguments}")
        return parsed

    def options(self) -> dict[str, str]:
        """``--name=value`` options before the arguments (COPY --from, HEALTHCHECK --interval)."""
        return dict(re.findall(r"--([a-z-]+)=(\S+)", self.arguments.split("CMD", 1)[0]))


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        """The stage's ENV values, in order (``KEY=value`` pairs, shell-quoted)."""
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for pair in shlex.split(instruction.arguments):
                key, _, value = pair.partition("=")
                values[key] = value
        return values


def instructions(text: str) -> list[Instruction]:
    found: list[Instruction] = []
    logical = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not logical and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # a comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        keyword, _, arguments = logical.partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip()))
        logical = ""
    return found


def stages(path: Path = DOCKERFILE) -> list[Stage]:
    """The Dockerfile's stages, in order."""
    result: list[Stage] = []
    for instruction in instructions(path.read_text("utf-8")):
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            result.append(Stage(words[0], name))
        elif result:
            result[-1].instructions.append(instruction)
    return result
