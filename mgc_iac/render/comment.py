"""The plan as ONE pull/merge-request comment: the markdown plan with each workflow's per-server detail collapsed
(<details>), a marker line so a pipeline finds and updates its own comment in place, and kept under the
platform's size limit (GitHub: 65,536 characters per comment body) by dropping whole workflow sections last
first, with a note saying how many were left out and where the full plan is."""

from __future__ import annotations

import re

GITHUB_COMMENT_LIMIT = 65_536
_WORKFLOW = re.compile(r"^### Workflow `([^`]+)`", re.MULTILINE)


def marker(stack: str) -> str:
    """The hidden first line that identifies this stack's plan comment (so it is edited, not posted again)."""
    return f"<!-- mgc-iac plan: {stack} -->"


def pr_comment(markdown: str, stack: str, limit: int = GITHUB_COMMENT_LIMIT, full_plan: str = "the job's artifacts"
               ) -> str:
    """`markdown` (the markdown renderer's plan) as a comment body of at most `limit` characters."""
    starts = [m.start() for m in _WORKFLOW.finditer(markdown)]
    footer_at = markdown.rfind("\n---\n")
    if not starts or footer_at < starts[-1]:
        footer_at = len(markdown)
    head = markdown[:starts[0]] if starts else markdown[:footer_at]
    footer = markdown[footer_at:]
    sections = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else footer_at
        body = markdown[start:end].rstrip()
        title, _, detail = body.partition("\n")
        name = _WORKFLOW.match(title).group(1)  # type: ignore[union-attr]
        sections.append(f"<details><summary>Workflow <code>{name}</code></summary>\n\n{detail.strip()}\n\n"
                        "</details>\n\n")
    top = f"{marker(stack)}\n{head.rstrip()}\n\n"
    kept: list[str] = []
    size = len(top) + len(footer)
    for n, section in enumerate(sections):
        note = _left_out(len(sections) - n - 1, full_plan) if n + 1 < len(sections) else ""
        if size + len(section) + len(note) > limit:
            kept.append(_left_out(len(sections) - n, full_plan))
            break
        kept.append(section)
        size += len(section)
    body = top + "".join(kept) + footer.lstrip("\n")
    return body if len(body) <= limit else body[: limit - 40] + "\n\n… (cut at the comment size limit)\n"


def _left_out(count: int, full_plan: str) -> str:
    return f"**{count} more workflow(s) not shown** (comment size limit): the full plan is in {full_plan}.\n\n"
