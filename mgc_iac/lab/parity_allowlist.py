"""Reviewed differences between the lab and Huawei Cloud that remain, each with its reason.

ALLOWED: (SDK operation, path of the answer problem as mgc_iac.cloud.contract reports it) -> reason.
DOCUMENTED: SDK operation -> the Huawei page (or Terraform provider document) whose documented answer the
client's parser is proven on (tests/parity/test_documented_answers.py).
NOT_DOCUMENTED_CODES: error cases whose code Huawei's published SMS (or BSS) error-code table does not name.
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
    "SMS.0515 for target disks that do not match the source": "the code huaweicloud-skills' SMS error table and "
    "field reports give for disk information that does not match the source (missing physical volumes, sizes not "
    "in bytes); no published code names a boot disk paired with a data volume, so the lab uses the same one",
    "Ecs.0005 for tags ECS refuses, Ecs.0039 for a failed encrypted create": "ECS's published codes for an invalid "
    "parameter and for a KMS problem; the code of the asynchronous job failure without EVSAccessKMS is not published",
    "IAM.0004 / IAM.0007": "IAM's codes for an unknown agency and a missing domain_id are not in the pages the "
    "client reads; the lab answers 404 / 400 with these",
    "CBC.6006 for a product BSS does not sell": "the price-inquiry page (support.huaweicloud.com/intl/en-us/api-oce/"
    "bcloud_01001.html) only says an inquiry with a wrong service type, region, resource type or spec fails; the "
    "lab answers 400 CBC.6006 'Can not find product <spec>', as a third-party report of live BSS answers quotes "
    "it (not Huawei's page; missing id: 400 CBC.0100 'id: must not be null', same report); the client relies only "
    "on the 400",
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
    "continuous synchronisation": "with syncing: true the task stays SYNCING after the full copy and the lab starts "
    "a round (command SYNC, sub-task SYNC_* restarted) `sync_interval_seconds` after the last one ended (default "
    "3 s); Huawei does not publish its interval. A cutover ends the rounds and the task reads MIGRATE_SUCCESS after",
    "volumes_attached order": "the order of os-extended-volumes:volumes_attached is not documented; the lab lists "
    "the data volumes first so that a client pairing disks by list order fails (bootIndex tells the boot volume)",
    "fault injection": "source states error and clearfailed are reached on request (POST /_lab/sms/fail), where "
    "Huawei reaches them on its own (a target that does not launch, snapshots that cannot be cleared)",
    "network_check / migration_test": "the lab records their documented effect (network_check_info, "
    "need_migration_test) without measuring a network or running a drill",
    "test / clone_test": "test launches the target and pauses the sync (source stopped) until restart; clone_test "
    "makes a server of its own from the target (ECS, a copy of the target's lab host) while the source is cloning; "
    "the clone's server template (template_id, optional in the API) is recorded, not applied: the lab has no "
    "templates, so the clone takes the target's flavor and network",
    "BSS usage units": "the lab rates usage_measure_id 4 (hours) only, the unit mgc-iac asks in; other units are "
    "refused with CBC.0100 rather than converted",
    "BSS prices": "the lab's price list is its seed's `cloud.prices` (stacks/demo/lab-seed.yaml; sources in "
    "mgc_iac/lab/README.md, 'Prices'); it has no discounts: amount = official_website_amount",
    "disk settings of update_server_name": "need_migration / adjust_size are kept, not shown: ServerDisk declares "
    "neither, so show_server cannot answer them",
}
