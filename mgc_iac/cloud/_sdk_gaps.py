"""The one place where the SDK 3.1.219 models and Huawei's documented answers disagree.

ShowConsistencyResultResponse.result_list is typed list[str] in the SDK; the answer is a list of objects
{finished_time, check_result, consistency_result: [{dir_check, num_total_files, num_different_files,
num_target_miss_files, num_target_more_files}]} as Huawei's own Terraform provider reads it
(data source huaweicloud_sms_task_consistency_results, docs/data-sources/sms_task_consistency_results.md and
huaweicloud/services/sms/data_source_huaweicloud_sms_task_consistency_results.go: finished_time TypeInt,
check_result TypeString, the counts TypeInt). The classes below declare that shape in the SDK models' own
vocabulary (openapi_types / attribute_map), so the client's parser and the lab's answer check share it.
"""

from __future__ import annotations

from typing import Any


class DocumentedConsistencyResultList:
    """One verification run of a task (a result_list item)."""

    openapi_types = {"finished_time": "int", "check_result": "str",
                     "consistency_result": "list[ConsistencyResult]"}   # ConsistencyResult: the SDK's own model
    attribute_map = {k: k for k in openapi_types}


class DocumentedShowConsistencyResultResponse:
    """ShowConsistencyResultResponse with result_list typed as documented."""

    openapi_types = {"result_list": "list[DocumentedConsistencyResultList]", "task_id": "str"}
    attribute_map = {k: k for k in openapi_types}


# SDK response model name -> the documented model that replaces it (used wherever an answer is checked)
DOCUMENTED_MODELS: dict[str, Any] = {"ShowConsistencyResultResponse": DocumentedShowConsistencyResultResponse}
LOCAL_MODELS: dict[str, Any] = {"DocumentedConsistencyResultList": DocumentedConsistencyResultList}


def consistency_result_list(response: Any) -> list[dict[str, Any]]:
    """The documented result_list of a ShowConsistencyResultResponse, read from its raw JSON (the SDK turned
    each object into a str). Anything not in the documented shape is refused, never read as zeros."""
    raw = response.to_json_object() or {}
    runs = raw.get("result_list") or []
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise ValueError("result_list is not a list of {finished_time, check_result, consistency_result}")
    for run in runs:
        rows = run.get("consistency_result")
        if rows is not None and (not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows)):
            raise ValueError("result_list[].consistency_result is not a list of per-directory counts")
    return runs
