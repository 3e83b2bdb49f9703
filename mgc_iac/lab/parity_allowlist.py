"""Reviewed differences between the lab and Huawei Cloud that remain, each with its reason.

ALLOWED: (SDK operation, path of the answer problem as mgc_iac.cloud.contract reports it) -> reason.
DOCUMENTED: SDK operation -> the Huawei page (or Terraform provider document) whose documented answer the
client's parser is proven on (tests/parity/test_documented_answers.py).
NOT_DOCUMENTED_CODES: error cases whose code Huawei's published SMS error-code table does not name.
"""

from __future__ import annotations

ALLOWED: dict[tuple[str, str], str] = {}

DOCUMENTED: dict[str, str] = {
    "sms.show_server": "API reference ShowServer (support.huaweicloud.com/intl/en-us/api-sms/ShowServer.html)",
    "sms.list_servers": "API reference ListServers (support.huaweicloud.com/intl/en-us/api-sms/ListServers.html)",
    "sms.show_task": "API reference ShowTask (support.huaweicloud.com/intl/en-us/api-sms/ShowTask.html)",
    "sms.list_tasks": "API reference ListTasks (support.huaweicloud.com/intl/en-us/api-sms/ListTasks.html)",
    "sms.show_command": "API reference ShowCommand (support.huaweicloud.com/eu/api-sms/ShowCommand.html)",
    "sms.show_consistency_result": "Terraform data source huaweicloud_sms_task_consistency_results "
    "(terraform-provider-huaweicloud docs/data-sources/sms_task_consistency_results.md)",
}

NOT_DOCUMENTED_CODES: dict[str, str] = {
    "SMS.2252 for an unknown task id": "the published table (support.huaweicloud.com/en-us/api-sms/sms_api_0047.html)"
    " has no code for a GET of an unknown task; the lab answers 404 with SMS.2252 ('no migration task is "
    "associated'), the nearest published meaning",
    "SMS.2216 for an unknown source id": "no published code for a GET of an unknown source; SMS.2216 ('the specified "
    "source server does not exist') is the nearest published meaning",
    "SMS.2009 for a refused body": "no published code for an invalid create/update body in that table; the lab "
    "uses SMS.2009 ('the command sent by the client is inconsistent with that on the SMS service')",
    "SMS.1038 for cutover/clear/test/progress refused by state": "the table names refusals only for pause (1038), "
    "resume "
    "(1039), restart (1040) and delete (2015)",
    "commands SYNC and CLEAR": "ShowCommand documents START, STOP, SKIP, PREMIGRATE, TASK_NOT_STARTED, "
    "TASK_HAS_STOPPED, TASK_HAS_FINISHED (the older v1 page also SYNC, DELETE); the lab agent protocol adds CLEAR "
    "so the agent on the source stops and uninstalls",
}

# behaviour the lab had to choose where Huawei's pages do not say (reviewed; see mgc_iac/lab/README.md)
BEHAVIOUR: dict[str, str] = {
    "transition timing": "ABORTING, SKIPPING, DELETING, cutovering and clearing last `transition_seconds` (lab "
    "setting, default 0.5 s); the real durations are not published",
    "check_result values": "the Terraform provider documents check_result as a string without its values; the lab "
    "writes 'success' and the client never decides cleanliness from it, only from the counts",
    "test / clone_test / network_check / migration_test": "the lab records their documented effect (target tested, "
    "clone_server, network_check_info, need_migration_test) without starting or cloning a server",
    "disk settings of update_server_name": "need_migration / adjust_size are kept, not shown: ServerDisk declares "
    "neither, so show_server cannot answer them",
}
