"""The answers to the SMS-Agent's startup.sh, chosen by MATCHING EACH PROMPT'S TEXT (never a fixed list of lines).

Huawei's startup.sh asks, on a first start: `y` to go on after the fstab pre-check warning, `y` to accept the
data-collection statement, the AK, the SK, the SMS domain (the bare host `sms.<region>.myhuaweicloud.com`) and
the enterprise project (a number from the list it prints, `0` = default); on a restart with a saved
configuration, whether to reuse it (`y`). A wrong answer makes it ask again, forever (SMS user guide,
"Installing the SMS-Agent on Linux", through huaweicloud/huaweicloud-skills' SMS Agent Installation
reference; /work/shared/reference/huawei-behaviour.md). Huawei does not publish the exact wording, so a prompt
is recognised by its key words; a prompt that matches none, or one asked again after we answered it (the
agent refused our answer), stops the dialog with that prompt's text in the error. There is no security-token
prompt: a token is never offered (temporary credentials are refused before: agent_steps).

`StartupDialog` is the pure decision (text in, answer out); `drive` runs it against a process's output with a
deadline. Neither ever puts an answer (AK, SK) into an error: errors quote the agent's text only.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

# a prompt line ends like one (`... (y/n): `, `AK:`, `number]`); anything else is output still being written
_PROMPT_END = re.compile(r"[:?)\]>]\s*$")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]")
_YES_NO = re.compile(r"\b(y\s*/\s*n|yes\s*/\s*no)\b", re.IGNORECASE)
# key words per prompt kind, checked in this order (a "secret access key" prompt is the SK, not the AK)
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("enterprise_project", re.compile(r"enterprise[\s_-]*project", re.IGNORECASE)),
    ("token", re.compile(r"\btoken\b", re.IGNORECASE)),
    ("sk", re.compile(r"\bSK\b|secret[\s_-]*(access[\s_-]*)?key", re.IGNORECASE)),
    ("ak", re.compile(r"\bAK\b|access[\s_-]*key", re.IGNORECASE)),
    ("domain", re.compile(r"\bdomain\b", re.IGNORECASE)),
)
_YES_NO_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("precheck", re.compile(r"fstab|pre-?check", re.IGNORECASE)),
    ("statement", re.compile(r"data[\s-]*collect|statement|privacy|\bagree\b|\bconsent\b", re.IGNORECASE)),
    ("reuse", re.compile(r"(saved|existing|previous|old|current)\b.*\bconfig|\bconfig\w*\b.*\b(reuse|saved|"
                         r"existing|previous|found)|\breuse\b", re.IGNORECASE | re.DOTALL)),
)
WHAT = {"precheck": "the fstab pre-check warning", "statement": "the data-collection statement",
        "reuse": "reusing the saved configuration", "ak": "the access key (AK)", "sk": "the secret key (SK)",
        "domain": "the SMS domain", "enterprise_project": "the enterprise project"}
_LISTED = re.compile(r"^\s*[\[(]?(\d{1,4})[\])]?\s*[.):\-]?\s+(\S.*?)\s*$")


class StartupDialogError(Exception):
    """startup.sh asked something mgc-iac cannot answer, refused an answer, or did not finish in time."""


@dataclass(frozen=True)
class StartupAnswers:
    """What startup.sh may be told. `enterprise_project` is a NAME, looked up in the list startup.sh prints."""

    ak: str = field(repr=False)
    sk: str = field(repr=False)
    domain: str
    enterprise_project: str = "default"

    @property
    def secrets(self) -> tuple[str, str]:
        return self.ak, self.sk


def classify(prompt: str, context: str = "") -> str | None:
    """The kind of a prompt from its key words (see _KINDS); None when it matches none we know. A y/n question
    is told by the text printed with it (`context`: the warning or statement above `Continue? (y/n)`); any
    other prompt by its own line first, then by that text."""
    if _YES_NO.search(prompt):
        return next((kind for kind, words in _YES_NO_KINDS if words.search(context or prompt)), None)
    for text in (prompt, context):
        kind = next((kind for kind, words in _KINDS if words.search(text)), None)
        if kind is not None:
            return kind
    return None


def listed_projects(text: str) -> dict[str, str]:
    """The enterprise projects startup.sh printed, `<number>. <name>` one a line: name (lower case) -> number."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = _LISTED.match(line)
        if m and not _PROMPT_END.search(m.group(2)):
            out.setdefault(m.group(2).strip().lower(), m.group(1))
    return out


def clean(text: str) -> str:
    """Terminal output as plain lines (no colours, no carriage returns)."""
    return _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n")


class StartupDialog:
    """Feed it startup.sh's output; `answer()` gives the answer to the prompt now waiting (or None)."""

    def __init__(self, answers: StartupAnswers) -> None:
        self.answers = answers
        self.asked: list[str] = []         # the kinds answered, in order (no answer value: those are secrets)
        self._segment = ""                 # output since the last answer
        self._transcript: list[str] = []   # every line startup.sh printed (for errors)

    def feed(self, text: str) -> None:
        self._segment += clean(text)

    @property
    def prompt(self) -> str:
        """The line startup.sh is waiting on: the unfinished last line, when it ends like a prompt."""
        last = self._segment.rsplit("\n", 1)[-1]
        return last.strip() if last.strip() and _PROMPT_END.search(last) else ""

    def tail(self, lines: int = 8) -> str:
        done = self._transcript + [ln for ln in self._segment.splitlines() if ln.strip()]
        return "\n".join(done[-lines:])

    def _refused(self, kind: str, prompt: str) -> StartupDialogError:
        said = [ln.strip() for ln in self._segment.splitlines()[:-1] if ln.strip()]
        why = f" It said: {' / '.join(said[-3:])}." if said else ""
        return StartupDialogError(f"startup.sh asked again for {WHAT[kind]} after mgc-iac answered it: it refused "
                                  f"the answer (a wrong answer is asked again forever, so mgc-iac stops here).{why} "
                                  f"Prompt: {prompt!r}")

    def answer(self) -> str | None:
        """The line to type for the prompt waiting now; None when no prompt waits. Raises StartupDialogError."""
        prompt = self.prompt
        if not prompt:
            return None
        kind = classify(prompt, self._segment)
        if kind == "token":
            raise StartupDialogError(f"startup.sh asks for a security token ({prompt!r}): Huawei's SMS-Agent has no "
                                     "such prompt and mgc-iac never offers one; start it with a permanent AK/SK")
        if kind is None:
            raise StartupDialogError(f"startup.sh asked something mgc-iac does not recognise, so it stopped: "
                                     f"{prompt!r} (known prompts: fstab pre-check y/n, data-collection statement "
                                     "y/n, reuse saved configuration y/n, AK, SK, SMS domain, enterprise project)")
        if kind in self.asked:
            raise self._refused(kind, prompt)
        value = self._value(kind, prompt)
        self.asked.append(kind)
        self._transcript += [ln for ln in self._segment.splitlines() if ln.strip()]
        self._segment = ""
        return value

    def _value(self, kind: str, prompt: str) -> str:
        a = self.answers
        if kind in ("precheck", "statement", "reuse"):
            return "y"
        if kind == "ak":
            return a.ak
        if kind == "sk":
            return a.sk
        if kind == "domain":
            return a.domain
        listed = listed_projects(self._segment)
        wanted = (a.enterprise_project or "default").strip().lower()
        if wanted in listed:
            return listed[wanted]
        if wanted == "default" and ("0" in listed.values() or not listed):
            return "0"  # Huawei: `0` is the default enterprise project
        names = ", ".join(f"{n} {name}" for name, n in sorted(listed.items(), key=lambda kv: int(kv[1])))
        raise StartupDialogError(f"the enterprise project {a.enterprise_project!r} is not in the list startup.sh "
                                 f"printed ({names or 'none'}): create it in the Enterprise Project Management "
                                 "console or set advanced.enterprise_project to one of those names")


async def drive(read: Callable[[], Awaitable[str]], write: Callable[[str], Awaitable[None]],
                dialog: StartupDialog, *, deadline_seconds: float, quiet_seconds: float = 0.1) -> None:
    """Answer each prompt as it appears until `read` returns "" (startup.sh ended). A prompt is answered once the
    output has been quiet for `quiet_seconds` (the whole prompt is there); past the deadline it stops with what
    startup.sh printed last."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise StartupDialogError(f"startup.sh did not finish within {deadline_seconds:.0f} s; it printed last: "
                                     f"{dialog.tail(4)!r}" + (f" (waiting on {dialog.prompt!r})" if dialog.prompt
                                                              else ""))
        try:
            chunk = await asyncio.wait_for(read(), timeout=min(quiet_seconds, left))
        except TimeoutError:
            reply = dialog.answer()
            if reply is not None:
                await write(reply + "\n")
            continue
        if chunk == "":
            return
        dialog.feed(chunk)
