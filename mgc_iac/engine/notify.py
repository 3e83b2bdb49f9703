"""The words of workflow notifications (SMN), in the workflow's language."""

from __future__ import annotations

EVENTS = ("succeeded", "failed", "manual_checkpoint")

_TEXT = {
    "en-us": {
        "succeeded": ("[mgc-iac] {workflow}: migration succeeded",
                      "All {n} server(s) of workflow {workflow} (stack {stack}) are migrated."),
        "failed": ("[mgc-iac] {workflow}: migration failed",
                   "Workflow {workflow} (stack {stack}) has failed steps:\n{lines}"),
        "manual_checkpoint": ("[mgc-iac] {workflow}: waiting for manual confirmation",
                              "Every server of workflow {workflow} (stack {stack}) waits at a manual checkpoint:\n"
                              "{lines}\nApprove plan {digest} with `mgc-iac approve`."),
    },
    "zh-cn": {
        "succeeded": ("[mgc-iac] {workflow}: 迁移成功", "工作流 {workflow}（{stack}）的 {n} 台服务器已全部迁移完成。"),
        "failed": ("[mgc-iac] {workflow}: 迁移失败", "工作流 {workflow}（{stack}）有步骤失败：\n{lines}"),
        "manual_checkpoint": ("[mgc-iac] {workflow}: 等待人工确认",
                              "工作流 {workflow}（{stack}）的所有服务器都在等待人工确认：\n{lines}\n"
                              "请使用 `mgc-iac approve` 批准计划 {digest}。"),
    },
}


def render(language: str, event: str, *, stack: str, workflow: str, servers: int, lines: list[str],
           digest: str) -> tuple[str, str]:
    """(subject, message) of a workflow event."""
    subject, body = _TEXT.get(language, _TEXT["en-us"])[event]
    values = {"stack": stack, "workflow": workflow, "n": servers, "lines": "\n".join(lines), "digest": digest}
    return subject.format(**values), body.format(**values)
