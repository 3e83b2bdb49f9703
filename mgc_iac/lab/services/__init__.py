"""aiohttp route tables of the lab, one module per Huawei Cloud service."""
